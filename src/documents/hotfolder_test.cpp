#include "documents/hotfolder.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/crypto.h"

namespace kontor::documents {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

class HotfolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = (fs::temp_directory_path() / "hotfolder_test_XXXXXX").string();
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
    dir_ = root_ + "/edition-2025-49";
  }
  void TearDown() override { fs::remove_all(root_); }

  Hotfolder Open(HotfolderOptions options = {}) {
    auto folder = Hotfolder::Open(dir_, options);
    EXPECT_TRUE(folder.ok()) << folder.status().ToString();
    return std::move(folder).value();
  }

  std::string root_, dir_;
};

TEST_F(HotfolderTest, FilesAppearOnlyCompleteUnderTheirFinalName) {
  Hotfolder folder = Open();
  bool checked = false;
  ASSERT_TRUE(folder
                  .Write("c-1.pdf",
                         [&](int fd) {
                           EXPECT_EQ(::write(fd, "%PDF-half", 9), 9);
                           // Half written: only the temporary exists.
                           EXPECT_FALSE(fs::exists(dir_ + "/c-1.pdf"));
                           EXPECT_TRUE(fs::exists(dir_ + "/.c-1.pdf.tmp"));
                           checked = true;
                           EXPECT_EQ(::write(fd, " and the rest", 13), 13);
                           return Status::Ok();
                         })
                  .ok());
  EXPECT_TRUE(checked);
  EXPECT_EQ(ReadFile(dir_ + "/c-1.pdf"), "%PDF-half and the rest");
  EXPECT_FALSE(fs::exists(dir_ + "/.c-1.pdf.tmp"));
  ASSERT_TRUE(folder.WriteBytes("c-2.pdf", "second").ok());
  EXPECT_EQ(folder.CompletedFiles().value(), (std::vector<std::string>{"c-1.pdf", "c-2.pdf"}));
}

TEST_F(HotfolderTest, AFailedWriteLeavesNothingBehind) {
  Hotfolder folder = Open();
  const Status s = folder.Write("c-3.pdf", [](int fd) {
    EXPECT_EQ(::write(fd, "partial", 7), 7);
    return Status::Internal("disk full");
  });
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{".kontor-hotfolder.lock"}));
  EXPECT_TRUE(folder.CompletedFiles().value().empty());
}

TEST_F(HotfolderTest, ARestartCleansStaleTemporariesAndKnowsWhatIsDone) {
  {
    Hotfolder folder = Open();
    ASSERT_TRUE(folder.WriteBytes("done.pdf", "complete").ok());
  }
  // What a crash in the middle of the next file leaves.
  std::ofstream(dir_ + "/.crashed.pdf.tmp") << "half";
  std::ofstream(dir_ + "/.other.tmp") << "half";
  Hotfolder folder = Open();
  EXPECT_FALSE(fs::exists(dir_ + "/.crashed.pdf.tmp"));
  EXPECT_FALSE(fs::exists(dir_ + "/.other.tmp"));
  EXPECT_EQ(folder.CompletedFiles().value(), std::vector<std::string>{"done.pdf"});
  EXPECT_FALSE(folder.HasManifest());
}

TEST_F(HotfolderTest, OnlyOneProcessWritesAHotfolder) {
  auto first = Hotfolder::Open(dir_);
  ASSERT_TRUE(first.ok());
  std::ofstream(dir_ + "/.in-progress.pdf.tmp") << "being written by the first";
  auto second = Hotfolder::Open(dir_);
  EXPECT_EQ(second.status().code(), StatusCode::kConflict);
  EXPECT_TRUE(fs::exists(dir_ + "/.in-progress.pdf.tmp")) << "the second removed live work";
  { Hotfolder released = std::move(first).value(); }
  EXPECT_TRUE(Hotfolder::Open(dir_).ok());
}

TEST_F(HotfolderTest, ManifestIsWrittenLastWithChecksums) {
  Hotfolder folder = Open(HotfolderOptions{.fsync_files = false});
  ASSERT_TRUE(folder.WriteBytes("c-1.pdf", "one").ok());
  ASSERT_TRUE(folder.WriteBytes("c-2.pdf", "two").ok());
  EXPECT_EQ(folder
                .WriteManifest({{"C-1", "a@example.com", "c-1.pdf", ""},
                                {"C-2", "\"Quoted, Name\"@example.com", "c-2.pdf", ""},
                                {"C-3", "c@example.com", "c-3.pdf", ""}})
                .code(),
            StatusCode::kFailedPrecondition);
  EXPECT_FALSE(folder.HasManifest());
  ASSERT_TRUE(folder
                  .WriteManifest({{"C-1", "a@example.com", "c-1.pdf", ""},
                                  {"C-2", "\"Quoted, Name\"@example.com", "c-2.pdf", ""}})
                  .ok());
  EXPECT_TRUE(folder.HasManifest());
  EXPECT_EQ(ReadFile(dir_ + "/manifest.csv"),
            "customer_id,email,file,sha256\r\n"
            "C-1,a@example.com,c-1.pdf," +
                Sha256Hex("one") +
                "\r\n"
                "C-2,\"\"\"Quoted, Name\"\"@example.com\",c-2.pdf," +
                Sha256Hex("two") + "\r\n");
  EXPECT_EQ(folder.CompletedFiles().value(), (std::vector<std::string>{"c-1.pdf", "c-2.pdf"}));
  EXPECT_FALSE(fs::exists(dir_ + "/.manifest.csv.tmp"));
}

TEST_F(HotfolderTest, GivenChecksumsAreUsedAsTheyAre) {
  Hotfolder folder = Open();
  ASSERT_TRUE(folder.WriteBytes("c-1.pdf", "one").ok());
  ASSERT_TRUE(folder.WriteManifest({{"C-1", "a@example.com", "c-1.pdf", "abc123"}}).ok());
  EXPECT_NE(ReadFile(dir_ + "/manifest.csv").find(",c-1.pdf,abc123\r\n"), std::string::npos);
}

TEST_F(HotfolderTest, RejectsNamesThatAreNotPlainFileNames) {
  Hotfolder folder = Open();
  for (const char* name : {"", "../escape.pdf", "sub/dir.pdf", ".hidden.pdf", "manifest.csv",
                           "spaces are bad.pdf", "ümlaut.pdf"}) {
    const Status s = folder.WriteBytes(name, "x");
    EXPECT_EQ(s.code(), StatusCode::kValidation) << name;
  }
  EXPECT_FALSE(fs::exists(root_ + "/escape.pdf"));
  EXPECT_EQ(Listing(dir_), (std::vector<std::string>{".kontor-hotfolder.lock"}));
}

TEST_F(HotfolderTest, TwoThreadsWriteAtOnce) {
  Hotfolder folder = Open();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < 50; i += 2) {
        EXPECT_TRUE(folder.WriteBytes("f-" + std::to_string(i) + ".pdf", std::to_string(i)).ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  const auto done = folder.CompletedFiles().value();
  EXPECT_EQ(done.size(), 50u);
  EXPECT_EQ(ReadFile(dir_ + "/f-37.pdf"), "37");
}

}  // namespace
}  // namespace kontor::documents
