// The kontor binary: serve, migrate, admin create, token create, version.
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <pthread.h>
#include <thread>

#include "app/app.h"
#include "core/validation.h"
#include "auth/password.h"
#include "core/log.h"
#include "payments/ach/cli.h"
#include "store/migrate.h"

namespace kontor {
namespace {

int Fail(const Status& st) {
  std::cerr << "kontor: " << st.message() << "\n";
  for (const auto& f : st.fields()) std::cerr << "  " << f.field << ": " << f.message << "\n";
  return st.code() == StatusCode::kValidation || st.code() == StatusCode::kInvalidArgument ? 2 : 1;
}

struct Common {
  std::string config_file, db, listen;
};

Result<Config> LoadWith(const Common& c) {
  ASSIGN_OR_RETURN(Config cfg, LoadConfig(c.config_file));
  if (!c.db.empty()) cfg.db = c.db;
  if (!c.listen.empty()) cfg.listen = c.listen;
  return cfg;
}

int Serve(const Common& common, bool demo) {
  // Signals are taken by one thread with sigwait, so no other thread is ever
  // interrupted and shutdown runs as ordinary code. Blocked before any thread
  // starts (the log flusher is the first), since threads inherit the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  auto cfg = LoadWith(common);
  if (!cfg.ok()) return Fail(cfg.status());
  InitLogging(cfg->log_level, cfg->log_format);

  auto db = OpenDatabase(*cfg);
  if (!db.ok()) return Fail(db.status());
  App app(*cfg, std::move(db).value(), *SystemClock::Default());
  if (Status st = app.Init(); !st.ok()) return Fail(st);
  if (demo) {
    if (Status st = app.LoadDemo(); !st.ok()) return Fail(st);
  }
  std::thread signals([&] {
    int sig = 0;
    sigwait(&set, &sig);
    LogInfo("signal received; shutting down gracefully", {{"signal", sig}});
    app.Shutdown();
  });
  signals.detach();
  Status st = app.Serve();
  return st.ok() ? 0 : Fail(st);
}

int Migrate(const Common& common) {
  auto cfg = LoadWith(common);
  if (!cfg.ok()) return Fail(cfg.status());
  InitLogging(cfg->log_level, cfg->log_format);
  auto db = OpenDatabase(*cfg);
  if (!db.ok()) return Fail(db.status());
  std::cout << "database is at schema version " << store::Migrations().back().version << "\n";
  return 0;
}

// Builds an App on the configured database for the one-shot commands.
Result<std::unique_ptr<App>> OpenApp(const Common& common) {
  ASSIGN_OR_RETURN(Config cfg, LoadWith(common));
  InitLogging("warn", cfg.log_format);
  ASSIGN_OR_RETURN(auto db, OpenDatabase(cfg));
  auto app = std::make_unique<App>(cfg, std::move(db), *SystemClock::Default());
  RETURN_IF_ERROR(app->Init());
  return app;
}

int AdminCreate(const Common& common, const std::string& email, std::string name, bool password_stdin) {
  if (!password_stdin) return Fail(Status::InvalidArgument("--password-stdin is required"));
  std::string password;
  std::getline(std::cin, password);
  while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) password.pop_back();
  if (!LooksLikeEmail(email)) return Fail(Status::Validation({{"email", "must be an email address"}}));
  auto app = OpenApp(common);
  if (!app.ok()) return Fail(app.status());
  if (name.empty()) name = email.substr(0, email.find('@'));
  audit::Actor actor = audit::Actor::System("kontor admin create", SystemClock::Default()->NowMs());
  auto user = (*app)->auth().CreateUser(actor, {email, name, password, "admin"});
  if (!user.ok()) return Fail(user.status());
  std::cout << "created admin " << user->email << " (id " << user->id << ")\n";
  return 0;
}

int TokenCreate(const Common& common, const std::string& email, const std::string& name,
                const std::vector<std::string>& scopes, int expires_days) {
  auto app = OpenApp(common);
  if (!app.ok()) return Fail(app.status());
  auto user = (*app)->auth().FindUserByEmail(email);
  if (!user.ok()) return Fail(user.status());
  if (!user->has_value()) return Fail(Status::NotFound("no user with email " + email));
  auth::NewToken nt;
  nt.user_id = (*user)->id;
  nt.name = name;
  if (!scopes.empty()) nt.scopes = scopes;
  if (expires_days > 0) nt.expires_in_days = expires_days;
  audit::Actor actor = audit::Actor::System("kontor token create", SystemClock::Default()->NowMs());
  auto token = (*app)->auth().CreateToken(actor, nt);
  if (!token.ok()) return Fail(token.status());
  std::cerr << "token " << token->second.prefix << "… created for " << email
            << "; it is shown once:\n";
  std::cout << token->first << "\n";
  return 0;
}

}  // namespace
}  // namespace kontor

int main(int argc, char** argv) {
  using namespace kontor;
  if (Status st = auth::InitCrypto(); !st.ok()) return Fail(st);
  CLI::App cli{"Kontor: client hub, communications, documents, portal and payments middleware"};
  cli.require_subcommand(1);
  Common common;
  auto add_common = [&](CLI::App* sub, bool listen) {
    sub->add_option("--config", common.config_file, "TOML configuration file");
    sub->add_option("--db", common.db, "sqlite:PATH or postgres://... (default sqlite:./data/kontor.db)");
    if (listen) sub->add_option("--listen", common.listen, "HOST:PORT (default 127.0.0.1:8080)");
  };

  bool demo = false;
  auto* serve = cli.add_subcommand("serve", "Run the HTTP server and job workers");
  add_common(serve, true);
  serve->add_flag("--demo", demo, "Create demo users and data on an empty database");

  auto* migrate = cli.add_subcommand("migrate", "Apply pending database migrations");
  add_common(migrate, false);

  auto* admin = cli.add_subcommand("admin", "Manage staff users");
  admin->require_subcommand(1);
  auto* admin_create = admin->add_subcommand("create", "Create an admin user");
  std::string email, name;
  bool password_stdin = false;
  admin_create->add_option("--email", email, "email address")->required();
  admin_create->add_option("--name", name, "display name");
  admin_create->add_flag("--password-stdin", password_stdin, "read the password from standard input");
  add_common(admin_create, false);

  auto* token = cli.add_subcommand("token", "Manage API tokens");
  token->require_subcommand(1);
  auto* token_create = token->add_subcommand("create", "Create an API token and print it once");
  std::string token_email, token_name;
  std::vector<std::string> scopes;
  int expires = 0;
  token_create->add_option("--email", token_email, "owner's email")->required();
  token_create->add_option("--name", token_name, "what the token is for")->required();
  token_create->add_option("--scopes", scopes, "* or component:read|write (default *)");
  token_create->add_option("--expires", expires, "days until it expires (default never)")->check(CLI::Range(1, 3650));
  add_common(token_create, false);

  auto* ach = cli.add_subcommand("ach", "NACHA ACH files: validate, format, json, build");
  ach->require_subcommand(1);
  std::vector<std::string> ach_files;
  std::string ach_file;
  bool ach_json = false;
  auto* ach_validate = ach->add_subcommand("validate", "Validate NACHA files (exit 1 when any is invalid)");
  ach_validate->add_option("files", ach_files, "NACHA files")->required();
  ach_validate->add_flag("--json", ach_json, "print the results as JSON");
  auto* ach_format = ach->add_subcommand("format", "Print a NACHA file in canonical form");
  ach_format->add_option("file", ach_file, "NACHA file")->required();
  auto* ach_to_json = ach->add_subcommand("json", "Print a NACHA file as JSON");
  ach_to_json->add_option("file", ach_file, "NACHA file")->required();
  auto* ach_build = ach->add_subcommand("build", "Build a NACHA file from JSON, controls computed");
  ach_build->add_option("file", ach_file, "JSON file, - for standard input")->required();

  auto* version = cli.add_subcommand("version", "Print the version");
  auto* config = cli.add_subcommand("config", "List configuration keys and environment variables");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = cli.exit(e);
    return code != 0 && *ach ? 2 : code;
  }
  if (*ach_validate) return payments::ach::CliValidate(ach_files, ach_json);
  if (*ach_format) return payments::ach::CliFormat(ach_file);
  if (*ach_to_json) return payments::ach::CliJson(ach_file);
  if (*ach_build) return payments::ach::CliBuild(ach_file);
  if (*serve) return Serve(common, demo);
  if (*migrate) return Migrate(common);
  if (*admin_create) return AdminCreate(common, email, name, password_stdin);
  if (*token_create) return TokenCreate(common, token_email, token_name, scopes, expires);
  if (*version) {
    std::cout << "kontor " << KONTOR_VERSION << "\n";
    return 0;
  }
  if (*config) {
    for (const auto& k : ConfigKeys()) std::cout << k.key << "\t" << k.env << "\t" << k.doc << "\n";
    return 0;
  }
  return 0;
}
