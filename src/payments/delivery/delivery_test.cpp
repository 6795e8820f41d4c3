// Delivery to banks against the real tools: a private OpenSSH sshd on a free
// loopback port for SFTP, and gpg to make keys and decrypt what we encrypt.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "payments/delivery/pgp.h"
#include "payments/delivery/sftp.h"

extern char** environ;

namespace kontor::payments::delivery {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, std::string_view data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
}

std::string MakeTempDir(const std::string& prefix) {
  std::string templ = (fs::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) return "";
  return templ;
}

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

struct Command {
  int exit_code = -1;
  std::string output;  // stdout and stderr
};

Command Shell(const std::string& cmd) {
  Command r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string CurrentUser() {
  passwd* pw = getpwuid(geteuid());
  return pw != nullptr ? pw->pw_name : "root";
}

int FreeLoopbackPort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
  close(s);
  return ntohs(addr.sin_port);
}

bool PortAccepts(int port) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(s);
  return ok;
}

// Test data that is not just text: every byte value, CR/LF, and more than
// one write slice.
std::string SampleData(size_t size, char seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>((i * 131 + seed) % 256);
  return out;
}

// ---------------------------------------------------------------------------
// SFTP against a private sshd.

constexpr const char* kSshd = "/usr/sbin/sshd";

class SftpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (access(kSshd, X_OK) != 0) GTEST_SKIP() << kSshd << " is not installed";
    dir_ = MakeTempDir("kontor-sshd-");
    ASSERT_FALSE(dir_.empty());
    upload_dir_ = dir_ + "/upload";
    inbox_dir_ = dir_ + "/inbox";
    fs::create_directories(upload_dir_);
    fs::create_directories(inbox_dir_);
    for (const char* key : {"host_key", "client_key", "other_key"}) {
      Command c = Shell("ssh-keygen -q -t ed25519 -N '' -C test -f " + Quote(dir_ + "/" + key));
      ASSERT_EQ(c.exit_code, 0) << c.output;
    }
    // Keys of the other kinds a bank may issue, in the PEM format. (libssh2
    // 1.10 leaks a little memory reading ECDSA keys in OpenSSH format, which
    // LeakSanitizer would report; see sftp.h.)
    for (const char* args : {"-t rsa -b 2048 -m PEM -f rsa_key", "-t ecdsa -m PEM -f ecdsa_key"}) {
      Command c = Shell("cd " + Quote(dir_) + " && ssh-keygen -q -N '' -C test " + args);
      ASSERT_EQ(c.exit_code, 0) << c.output;
    }
    WriteFile(dir_ + "/authorized_keys", ReadFile(dir_ + "/client_key.pub") +
                                             ReadFile(dir_ + "/rsa_key.pub") +
                                             ReadFile(dir_ + "/ecdsa_key.pub"));
    Command fp = Shell("ssh-keygen -l -E sha256 -f " + Quote(dir_ + "/host_key.pub"));
    ASSERT_EQ(fp.exit_code, 0) << fp.output;
    std::istringstream fields(fp.output);  // "256 SHA256:... test (ED25519)"
    std::string bits;
    fields >> bits >> host_fingerprint_;
    ASSERT_EQ(host_fingerprint_.rfind("SHA256:", 0), 0u) << fp.output;
    // sshd's privilege separation directory; only root may (and must) make it.
    if (geteuid() == 0) fs::create_directories("/run/sshd");

    // A port picked this way can be taken by someone else before sshd binds
    // it; then sshd exits and another port is tried.
    for (int attempt = 0; attempt < 5 && pid_ <= 0; ++attempt) {
      port_ = FreeLoopbackPort();
      StartSshd();
    }
    ASSERT_GT(pid_, 0) << "sshd did not start:\n" << ReadFile(log_path());
  }

  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  std::string log_path() const { return dir_ + "/sshd.log"; }

  void StartSshd() {
    const std::string config = dir_ + "/sshd_config";
    std::ofstream(config) << "Port " << port_ << "\n"
                          << "ListenAddress 127.0.0.1\n"
                          << "AddressFamily inet\n"
                          << "HostKey " << dir_ << "/host_key\n"
                          << "PidFile " << dir_ << "/sshd.pid\n"
                          << "AuthorizedKeysFile " << dir_ << "/authorized_keys\n"
                          << "StrictModes no\n"
                          << "UsePAM no\n"
                          << "PasswordAuthentication no\n"
                          << "KbdInteractiveAuthentication no\n"
                          << "AuthenticationMethods publickey\n"
                          << "PermitRootLogin prohibit-password\n"
                          // The concurrency test opens 20 connections at once;
                          // the default (10:30:100) would drop some of them.
                          << "MaxStartups 200\n"
                          << "UseDNS no\n"
                          // libssh2 1.10 signs with RSA only as ssh-rsa (SHA-1),
                          // which OpenSSH 8.8+ refuses unless told otherwise.
                          << "PubkeyAcceptedAlgorithms +ssh-rsa\n"
                          << "Subsystem sftp internal-sftp\n"
                          // INFO, not ERROR: the host key test reads the
                          // "Accepted publickey" lines.
                          << "LogLevel INFO\n";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_path().c_str(),
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
    std::vector<std::string> args = {kSshd, "-D", "-e", "-f", config};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    int rc = posix_spawn(&pid, kSshd, &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) return;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) return;  // exited: port taken or bad config
      if (PortAccepts(port_)) {
        pid_ = pid;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }

  SftpProfile Profile() const {
    SftpProfile p;
    p.host = "127.0.0.1";
    p.port = port_;
    p.username = CurrentUser();
    p.private_key_pem = ReadFile(dir_ + "/client_key");
    p.host_key_sha256 = host_fingerprint_;
    p.upload_dir = upload_dir_;
    p.inbox_dir = inbox_dir_;
    p.timeout_ms = 15000;
    return p;
  }

  std::unique_ptr<SftpClient> MustConnect() {
    auto c = SftpClient::Connect(Profile());
    EXPECT_TRUE(c.ok()) << c.status().ToString() << "\nsshd log:\n" << ReadFile(log_path());
    return c.ok() ? std::move(c).value() : nullptr;
  }

  std::string dir_, upload_dir_, inbox_dir_, host_fingerprint_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(SftpTest, HostKeyFingerprintIsWhatSshKeygenSays) {
  auto fp = HostKeyFingerprintOf("127.0.0.1", port_, 5000);
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(*fp, host_fingerprint_);
}

TEST_F(SftpTest, UploadWritesTheExactBytesUnderTheFinalName) {
  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  const std::string data = SampleData(700 * 1000 + 17, 3);
  auto outcome = client->Upload("ACH_20250102_001.txt.pgp", data);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kUploaded);
  EXPECT_EQ(ReadFile(upload_dir_ + "/ACH_20250102_001.txt.pgp"), data);
  EXPECT_FALSE(fs::exists(upload_dir_ + "/.ACH_20250102_001.txt.pgp.part"));

  // An empty file is a file too.
  outcome = client->Upload("empty.txt", "");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_TRUE(fs::exists(upload_dir_ + "/empty.txt"));
  EXPECT_EQ(fs::file_size(upload_dir_ + "/empty.txt"), 0u);
}

TEST_F(SftpTest, SecondUploadFindsTheFileAndWritesNothing) {
  const std::string data = SampleData(50 * 1000, 7);
  const std::string path = upload_dir_ + "/batch.ach";
  {
    auto client = MustConnect();
    ASSERT_NE(client, nullptr);
    auto first = client->Upload("batch.ach", data);
    ASSERT_TRUE(first.ok()) << first.status().ToString();
    EXPECT_EQ(*first, UploadOutcome::kUploaded);
  }
  struct stat before {};
  ASSERT_EQ(stat(path.c_str(), &before), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  // As after a crash between the rename and our bookkeeping: a new
  // connection retries the same upload.
  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  auto again = client->Upload("batch.ach", data);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, UploadOutcome::kAlreadyPresent);
  struct stat after {};
  ASSERT_EQ(stat(path.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_FALSE(fs::exists(upload_dir_ + "/.batch.ach.part"));
  EXPECT_EQ(ReadFile(path), data);
}

TEST_F(SftpTest, ResumesFromAShorterPartFile) {
  // The first 64 KiB are zeros, and the partial file holds them as a hole
  // (never written). If the upload continues after them instead of writing
  // the file again, the hole is still there afterwards.
  constexpr size_t kPrefix = 64 * 1024;
  std::string data(kPrefix, '\0');
  data += SampleData(100 * 1000, 11);
  const std::string part = upload_dir_ + "/.resume.ach.part";
  { std::ofstream(part, std::ios::binary); }
  fs::resize_file(part, kPrefix);
  auto first_data_at = [](const std::string& path) -> off_t {
    int fd = open(path.c_str(), O_RDONLY);
    off_t at = lseek(fd, 0, SEEK_DATA);
    close(fd);
    return at;
  };
  // A file system without holes shows data at 0; then only the content is
  // checked.
  const bool holes = first_data_at(part) != 0;
  struct stat part_stat {};
  ASSERT_EQ(stat(part.c_str(), &part_stat), 0);

  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  auto outcome = client->Upload("resume.ach", data);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kUploaded);
  const std::string path = upload_dir_ + "/resume.ach";
  EXPECT_EQ(ReadFile(path), data);
  EXPECT_FALSE(fs::exists(part));
  struct stat final_stat {};
  ASSERT_EQ(stat(path.c_str(), &final_stat), 0);
  EXPECT_EQ(final_stat.st_ino, part_stat.st_ino) << "the partial file was replaced, not continued";
  if (holes) {
    EXPECT_GE(first_data_at(path), static_cast<off_t>(kPrefix))
        << "the bytes already there were written again";
  }
}

TEST_F(SftpTest, StartsOverWhenThePartFileDoesNotMatch) {
  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  const std::string data = SampleData(40 * 1000, 5);

  // Different bytes from an upload of other data under the same name.
  WriteFile(upload_dir_ + "/.a.ach.part", SampleData(10 * 1000, 99));
  auto outcome = client->Upload("a.ach", data);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(ReadFile(upload_dir_ + "/a.ach"), data);

  // Longer than the data.
  WriteFile(upload_dir_ + "/.b.ach.part", data + "trailing garbage");
  outcome = client->Upload("b.ach", data);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(ReadFile(upload_dir_ + "/b.ach"), data);

  // Complete already (the crash came before the rename).
  WriteFile(upload_dir_ + "/.c.ach.part", data);
  outcome = client->Upload("c.ach", data);
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
  EXPECT_EQ(*outcome, UploadOutcome::kUploaded);
  EXPECT_EQ(ReadFile(upload_dir_ + "/c.ach"), data);
  EXPECT_FALSE(fs::exists(upload_dir_ + "/.c.ach.part"));
}

TEST_F(SftpTest, NeverReplacesAFileOfTheSameNameButAnotherSize) {
  WriteFile(upload_dir_ + "/d.ach", "old and short");
  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  auto outcome = client->Upload("d.ach", SampleData(1000, 1));
  ASSERT_FALSE(outcome.ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kFailedPrecondition)
      << outcome.status().ToString();
  EXPECT_EQ(ReadFile(upload_dir_ + "/d.ach"), "old and short");
  EXPECT_FALSE(fs::exists(upload_dir_ + "/.d.ach.part"));

  // Nor does Rename.
  WriteFile(upload_dir_ + "/e.ach", "e");
  Status st = client->Rename(upload_dir_ + "/e.ach", upload_dir_ + "/d.ach");
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(ReadFile(upload_dir_ + "/d.ach"), "old and short");
  EXPECT_EQ(ReadFile(upload_dir_ + "/e.ach"), "e");
}

TEST_F(SftpTest, RefusesFileNamesThatAreNotPlainNames) {
  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  for (const char* name : {"", ".hidden", "../escape", "a/b", ".."}) {
    auto outcome = client->Upload(name, "x");
    ASSERT_FALSE(outcome.ok()) << name;
    EXPECT_EQ(outcome.status().code(), StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(fs::is_empty(upload_dir_));
}

TEST_F(SftpTest, WrongHostKeyIsRefusedBeforeAuthentication) {
  SftpProfile profile = Profile();
  profile.host_key_sha256 = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  auto client = SftpClient::Connect(profile);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(client.status().message().find(host_fingerprint_), std::string::npos)
      << client.status().message();
  EXPECT_NE(client.status().message().find(profile.host_key_sha256), std::string::npos)
      << client.status().message();

  profile.host_key_sha256 = "";
  client = SftpClient::Connect(profile);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kFailedPrecondition);

  // sshd logs every authentication attempt; there must have been none.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string log = ReadFile(log_path());
  EXPECT_EQ(log.find("Accepted publickey"), std::string::npos) << log;
  EXPECT_EQ(log.find("authenticating user"), std::string::npos) << log;

  // Control: with the right pin the same key is accepted, and logged.
  ASSERT_NE(MustConnect(), nullptr);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (ReadFile(log_path()).find("Accepted publickey") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_NE(ReadFile(log_path()).find("Accepted publickey"), std::string::npos);
}

TEST_F(SftpTest, WrongClientKeyIsRefused) {
  SftpProfile profile = Profile();
  profile.private_key_pem = ReadFile(dir_ + "/other_key");
  auto client = SftpClient::Connect(profile);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kFailedPrecondition) << client.status().ToString();

  profile.private_key_pem = "-----BEGIN OPENSSH PRIVATE KEY-----\nnot a key\n";
  client = SftpClient::Connect(profile);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kFailedPrecondition) << client.status().ToString();

  profile = Profile();
  profile.username = "no-such-user-kontor";
  client = SftpClient::Connect(profile);
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kFailedPrecondition) << client.status().ToString();
}

TEST_F(SftpTest, EcdsaClientKeyWorks) {
  SftpProfile profile = Profile();
  profile.private_key_pem = ReadFile(dir_ + "/ecdsa_key");
  auto client = SftpClient::Connect(profile);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto outcome = (*client)->Upload("ecdsa.ach", "data");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
}

// Only against servers that still accept ssh-rsa signatures (see sftp.h).
TEST_F(SftpTest, RsaPemClientKeyWorks) {
  SftpProfile profile = Profile();
  profile.private_key_pem = ReadFile(dir_ + "/rsa_key");
  auto client = SftpClient::Connect(profile);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  auto outcome = (*client)->Upload("rsa.ach", "data");
  ASSERT_TRUE(outcome.ok()) << outcome.status().ToString();
}

// The processes serving sshd's connections (everything below the listener).
std::vector<pid_t> DescendantsOf(pid_t root) {
  std::vector<pid_t> found = {root};
  for (size_t i = 0; i < found.size(); ++i) {
    for (const auto& entry : fs::directory_iterator("/proc")) {
      std::string stat = ReadFile(entry.path().string() + "/stat");
      size_t close_paren = stat.rfind(')');
      if (close_paren == std::string::npos) continue;
      std::istringstream rest(stat.substr(close_paren + 2));
      std::string state;
      pid_t ppid = 0;
      rest >> state >> ppid;
      if (ppid == found[i]) found.push_back(std::stoi(entry.path().filename().string()));
    }
  }
  found.erase(found.begin());
  return found;
}

TEST_F(SftpTest, ServerThatStopsAnsweringTimesOut) {
  SftpProfile profile = Profile();
  profile.timeout_ms = 700;
  auto client = SftpClient::Connect(profile);
  ASSERT_TRUE(client.ok()) << client.status().ToString();
  struct Frozen {
    std::vector<pid_t> pids;
    ~Frozen() {
      for (pid_t p : pids) kill(p, SIGKILL);  // stopped processes ignore SIGTERM
    }
  } frozen{DescendantsOf(pid_)};
  ASSERT_FALSE(frozen.pids.empty());
  for (pid_t p : frozen.pids) kill(p, SIGSTOP);

  auto start = std::chrono::steady_clock::now();
  auto files = (*client)->List(inbox_dir_);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kUnavailable) << files.status().ToString();
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  // The connection is given up: later calls fail at once, and so does the
  // goodbye in the destructor.
  start = std::chrono::steady_clock::now();
  auto outcome = (*client)->Upload("late.ach", "data");
  EXPECT_EQ(outcome.status().code(), StatusCode::kUnavailable);
  client = Status::Internal("dropped");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
}

TEST_F(SftpTest, ListDownloadRenameRemoveMakeDir) {
  WriteFile(inbox_dir_ + "/RETURN_1.ach", "return one\r\n");
  WriteFile(inbox_dir_ + "/RETURN_2.ach", SampleData(200 * 1000, 2));
  WriteFile(inbox_dir_ + "/.incoming", "being written by the bank");
  fs::create_directories(inbox_dir_ + "/archive");
  fs::create_symlink(inbox_dir_ + "/RETURN_1.ach", inbox_dir_ + "/link.ach");

  auto client = MustConnect();
  ASSERT_NE(client, nullptr);
  auto files = client->List(inbox_dir_);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  ASSERT_EQ(files->size(), 2u);
  EXPECT_EQ((*files)[0].name, "RETURN_1.ach");
  EXPECT_EQ((*files)[0].size, 12u);
  EXPECT_EQ((*files)[1].name, "RETURN_2.ach");
  EXPECT_EQ((*files)[1].size, 200u * 1000);
  struct stat st {};
  ASSERT_EQ(stat((inbox_dir_ + "/RETURN_1.ach").c_str(), &st), 0);
  EXPECT_EQ((*files)[0].mtime, st.st_mtime);

  auto data = client->Download(inbox_dir_ + "/RETURN_2.ach", 1 << 20);
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, SampleData(200 * 1000, 2));
  data = client->Download(inbox_dir_ + "/RETURN_2.ach", 1000);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kFailedPrecondition);
  data = client->Download(inbox_dir_ + "/missing.ach", 1000);
  ASSERT_FALSE(data.ok());
  EXPECT_EQ(data.status().code(), StatusCode::kNotFound) << data.status().ToString();

  // The client is still usable after those errors.
  Status st2 = client->MakeDir(inbox_dir_ + "/done");
  ASSERT_TRUE(st2.ok()) << st2.ToString();
  EXPECT_TRUE(fs::is_directory(inbox_dir_ + "/done"));
  st2 = client->MakeDir(inbox_dir_ + "/done");
  EXPECT_TRUE(st2.ok()) << st2.ToString();
  st2 = client->MakeDir(inbox_dir_ + "/RETURN_1.ach");  // a file, not a directory
  EXPECT_FALSE(st2.ok());

  st2 = client->Rename(inbox_dir_ + "/RETURN_1.ach", inbox_dir_ + "/done/RETURN_1.ach");
  ASSERT_TRUE(st2.ok()) << st2.ToString();
  EXPECT_FALSE(fs::exists(inbox_dir_ + "/RETURN_1.ach"));
  EXPECT_EQ(ReadFile(inbox_dir_ + "/done/RETURN_1.ach"), "return one\r\n");
  st2 = client->Rename(inbox_dir_ + "/RETURN_1.ach", inbox_dir_ + "/done/again.ach");
  EXPECT_EQ(st2.code(), StatusCode::kNotFound) << st2.ToString();

  st2 = client->Remove(inbox_dir_ + "/RETURN_2.ach");
  ASSERT_TRUE(st2.ok()) << st2.ToString();
  EXPECT_FALSE(fs::exists(inbox_dir_ + "/RETURN_2.ach"));
  st2 = client->Remove(inbox_dir_ + "/RETURN_2.ach");
  EXPECT_EQ(st2.code(), StatusCode::kNotFound) << st2.ToString();

  files = client->List(inbox_dir_);
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  EXPECT_TRUE(files->empty());
  files = client->List(inbox_dir_ + "/nope");
  ASSERT_FALSE(files.ok());
  EXPECT_EQ(files.status().code(), StatusCode::kNotFound) << files.status().ToString();
}

TEST_F(SftpTest, TwentyClientsInTwentyThreads) {
  constexpr int kClients = 20;
  std::vector<std::string> errors(kClients);
  std::vector<std::thread> threads;
  const SftpProfile profile = Profile();
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      auto client = SftpClient::Connect(profile);
      if (!client.ok()) {
        errors[i] = client.status().ToString();
        return;
      }
      auto outcome = (*client)->Upload("file_" + std::to_string(i) + ".ach",
                                       SampleData(30 * 1000 + i, static_cast<char>(i)));
      if (!outcome.ok()) {
        errors[i] = outcome.status().ToString();
      } else if (*outcome != UploadOutcome::kUploaded) {
        errors[i] = "not uploaded";
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(errors[i], "") << "client " << i;
    EXPECT_EQ(ReadFile(upload_dir_ + "/file_" + std::to_string(i) + ".ach"),
              SampleData(30 * 1000 + i, static_cast<char>(i)))
        << "client " << i;
  }
}

// A server that accepts the TCP connection and then says nothing (a plain
// listening socket that never even accepts).
TEST(SftpTimeoutTest, SilentServerTimesOut) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(s, 16), 0);
  socklen_t len = sizeof addr;
  getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);

  SftpProfile profile;
  profile.host = "127.0.0.1";
  profile.port = ntohs(addr.sin_port);
  profile.username = "nobody";
  profile.host_key_sha256 = "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  profile.timeout_ms = 700;
  auto start = std::chrono::steady_clock::now();
  auto client = SftpClient::Connect(profile);
  auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.ok());
  EXPECT_EQ(client.status().code(), StatusCode::kUnavailable) << client.status().ToString();
  EXPECT_GE(took, std::chrono::milliseconds(600));
  EXPECT_LT(took, std::chrono::milliseconds(2500));

  start = std::chrono::steady_clock::now();
  auto fp = HostKeyFingerprintOf("127.0.0.1", profile.port, 700);
  took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(fp.ok());
  EXPECT_EQ(fp.status().code(), StatusCode::kUnavailable);
  EXPECT_LT(took, std::chrono::milliseconds(2500));
  close(s);

  // Nothing listening: refused at once.
  auto refused = SftpClient::Connect(profile);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable) << refused.status().ToString();
}

// ---------------------------------------------------------------------------
// PGP: keys made by gpg, our ciphertext decrypted by gpg.

class PgpTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (Shell("gpg --version").exit_code != 0) return;
    home_ = new std::string(MakeTempDir("kontor-pgptest-"));
    std::string error;
    auto gen = [&](const std::string& args) {
      Command c = Shell(Gpg() + " --pinentry-mode loopback --passphrase '' " + args);
      if (c.exit_code != 0) error += args + ": " + c.output;
    };
    gen("--quick-gen-key 'Bank <bank@example.com>' future-default default never");
    gen("--quick-gen-key 'Signer <signer@example.com>' ed25519 sign never");
    gen("--faked-system-time 20200101T000000 --quick-gen-key 'Old <old@example.com>' "
        "future-default default 1d");
    gen("--quick-gen-key 'Gone <gone@example.com>' future-default default never");
    // gpg writes a revocation certificate for every new key, its armor line
    // defused with a leading ':'. Importing it revokes the key.
    std::string gone = Fingerprint("gone@example.com");
    std::string rev = ReadFile(*home_ + "/openpgp-revocs.d/" + gone + ".rev");
    size_t colon = rev.find(":-----BEGIN");
    if (colon != std::string::npos) rev.erase(colon, 1);
    WriteFile(*home_ + "/gone.rev", rev);
    Command imp = Shell(Gpg() + " --import " + Quote(*home_ + "/gone.rev"));
    if (imp.exit_code != 0) error += "revoke: " + imp.output;
    if (!error.empty()) {
      setup_error_ = new std::string(error);
    }
  }

  static void TearDownTestSuite() {
    if (home_ == nullptr) return;
    Shell("gpgconf --homedir " + Quote(*home_) + " --kill all");
    std::error_code ec;
    fs::remove_all(*home_, ec);
    delete home_;
    home_ = nullptr;
    delete setup_error_;
    setup_error_ = nullptr;
  }

  void SetUp() override {
    if (home_ == nullptr) GTEST_SKIP() << "gpg is not installed";
    ASSERT_EQ(setup_error_, nullptr) << *setup_error_;
  }

  static std::string Gpg() { return "gpg --batch --no-tty --homedir " + Quote(*home_); }

  // The primary key fingerprint gpg shows for the key with this email.
  static std::string Fingerprint(const std::string& email) {
    Command c = Shell(Gpg() + " --with-colons --fingerprint " + Quote("<" + email + ">"));
    std::istringstream lines(c.output);
    std::string line;
    bool in_primary = false;
    while (std::getline(lines, line)) {
      if (line.rfind("pub:", 0) == 0) in_primary = true;
      if (line.rfind("sub:", 0) == 0) in_primary = false;
      if (in_primary && line.rfind("fpr:", 0) == 0) {
        // fpr:::::::::FINGERPRINT:
        size_t end = line.rfind(':', line.size() - 2);
        return line.substr(end + 1, line.size() - end - 2);
      }
    }
    return "";
  }

  static std::string Export(const std::string& email) {
    return Shell(Gpg() + " --armor --export " + Quote("<" + email + ">")).output;
  }

  // Decrypts with the secret key in the test keyring; the plaintext, or
  // gpg's complaint.
  static std::string Decrypt(const std::string& ciphertext) {
    const std::string in = *home_ + "/msg.in", out = *home_ + "/msg.out";
    WriteFile(in, ciphertext);
    fs::remove(out);
    Command c = Shell(Gpg() + " --pinentry-mode loopback --passphrase '' --output " + Quote(out) +
                      " --decrypt " + Quote(in));
    if (c.exit_code != 0) return "gpg failed: " + c.output;
    return ReadFile(out);
  }

  static void ExpectKeyError(const Status& st, const std::string& why) {
    EXPECT_EQ(st.code(), StatusCode::kValidation) << st.ToString();
    ASSERT_EQ(st.fields().size(), 1u) << st.ToString();
    EXPECT_EQ(st.fields()[0].field, "pgp_public_key");
    EXPECT_NE(st.message().find("pgp_public_key"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(why), std::string::npos) << st.message();
  }

  static std::string* home_;
  static std::string* setup_error_;
};

std::string* PgpTest::home_ = nullptr;
std::string* PgpTest::setup_error_ = nullptr;

// A NACHA-like file: 94-character records, CRLF line ends, and padding.
std::string NachaLike() {
  std::string out;
  out +=
      "101 091000019 1234567892501021200A094101BANK OF EXAMPLE        KONTOR INC             \r\n";
  for (int i = 0; i < 50; ++i) {
    std::string entry = "6270910000190000000000" + std::to_string(100000 + i) + "  0000001000";
    entry.resize(94, ' ');
    out += entry + "\r\n";
  }
  out += std::string(94, '9') + "\r\n";
  return out;
}

TEST_F(PgpTest, FingerprintIsWhatGpgSays) {
  auto fp = PgpFingerprint(Export("bank@example.com"));
  ASSERT_TRUE(fp.ok()) << fp.status().ToString();
  EXPECT_EQ(fp->size(), 40u);
  EXPECT_EQ(*fp, Fingerprint("bank@example.com"));
}

TEST_F(PgpTest, EncryptsSoThatGpgDecryptsTheSameBytes) {
  const std::string key = Export("bank@example.com");
  std::string plain = NachaLike();
  plain.push_back('\0');  // bytes, not text: nothing may be converted
  plain += SampleData(5000, 9);

  auto armored = PgpEncrypt(plain, key, /*armor=*/true);
  ASSERT_TRUE(armored.ok()) << armored.status().ToString();
  EXPECT_EQ(armored->rfind("-----BEGIN PGP MESSAGE-----", 0), 0u);
  EXPECT_EQ(armored->find(plain.substr(0, 20)), std::string::npos);
  EXPECT_EQ(Decrypt(*armored), plain);

  auto binary = PgpEncrypt(plain, key, /*armor=*/false);
  ASSERT_TRUE(binary.ok()) << binary.status().ToString();
  EXPECT_EQ(binary->find("BEGIN PGP"), std::string::npos);
  EXPECT_EQ(Decrypt(*binary), plain);

  auto empty = PgpEncrypt("", key, true);
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_EQ(Decrypt(*empty), "");
}

TEST_F(PgpTest, RejectsWhatIsNotAUsablePublicKey) {
  ExpectKeyError(PgpFingerprint("").status(), "empty");
  ExpectKeyError(PgpFingerprint("hello, I am a key").status(), "not an OpenPGP public key");
  ExpectKeyError(PgpFingerprint("-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAAAAAA\n"
                                "-----END PGP PUBLIC KEY BLOCK-----\n")
                     .status(),
                 "");
  std::string secret = Shell(Gpg() +
                             " --pinentry-mode loopback --passphrase '' --armor "
                             "--export-secret-keys '<bank@example.com>'")
                           .output;
  ASSERT_NE(secret.find("PRIVATE KEY BLOCK"), std::string::npos) << secret;
  ExpectKeyError(PgpFingerprint(secret).status(), "secret key");
  ExpectKeyError(PgpEncrypt("x", secret, true).status(), "secret key");

  ExpectKeyError(PgpFingerprint(Export("signer@example.com")).status(), "no usable encryption");
  ExpectKeyError(PgpFingerprint(Export("old@example.com")).status(), "expired");
  ExpectKeyError(PgpFingerprint(Export("gone@example.com")).status(), "revoked");
  ExpectKeyError(PgpEncrypt("x", Export("gone@example.com"), true).status(), "revoked");
  ExpectKeyError(PgpFingerprint(Export("bank@example.com") + Export("signer@example.com")).status(),
                 "exactly one");
}

TEST_F(PgpTest, ConcurrentCallsLeaveNoKeyringOrAgentBehind) {
  // A private TMPDIR shows what the calls leave behind, and a private HOME
  // that ~/.gnupg is not touched.
  const std::string tmp = MakeTempDir("kontor-pgptmp-");
  const std::string home = MakeTempDir("kontor-pgphome-");
  std::string old_tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "";
  std::string old_home = getenv("HOME") ? getenv("HOME") : "";
  setenv("TMPDIR", tmp.c_str(), 1);
  setenv("HOME", home.c_str(), 1);

  const std::string key = Export("bank@example.com");
  const std::string plain = NachaLike();
  std::vector<std::string> out(8);
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto c = PgpEncrypt(plain + std::to_string(i), key, i % 2 == 0);
      out[i] = c.ok() ? *c : "error: " + c.status().ToString();
    });
  }
  for (auto& t : threads) t.join();

  old_tmp.empty() ? unsetenv("TMPDIR") : setenv("TMPDIR", old_tmp.c_str(), 1);
  old_home.empty() ? unsetenv("HOME") : setenv("HOME", old_home.c_str(), 1);

  for (int i = 0; i < 8; ++i) EXPECT_EQ(Decrypt(out[i]), plain + std::to_string(i)) << i;
  EXPECT_TRUE(fs::is_empty(tmp)) << "a keyring directory was left in " << tmp;
  EXPECT_FALSE(fs::exists(home + "/.gnupg"));
  // No process (gpg-agent, dirmngr) still serves one of those keyrings.
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string cmdline = ReadFile(entry.path().string() + "/cmdline");
    EXPECT_EQ(cmdline.find(tmp), std::string::npos) << entry.path() << ": " << cmdline;
  }
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::remove_all(home, ec);
}

}  // namespace
}  // namespace kontor::payments::delivery
