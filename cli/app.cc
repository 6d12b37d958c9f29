#include "cli/app.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <utility>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <nlohmann/json.hpp>

#include "acme/client.h"
#include "base/fs.h"
#include "base/heap_hint.h"
#include "base/log.h"
#include "base/names.h"
#include "base/text.h"
#include "cli/ca_choice.h"
#include "cli/command_context.h"
#include "cli/commands.h"
#include "cli/config_file.h"
#include "cli/output.h"
#include "cli/probe_output.h"
#include "lifecycle/config_check.h"
#include "lifecycle/engine.h"
#include "lifecycle/versions.h"
#include "store/sql_inventory.h"

namespace certkeeper::cli {

namespace {

namespace po = boost::program_options;
using nlohmann::json;

class App final : public CommandContext {
 public:
  int Run(int argc, char** argv);

  // CommandContext
  const GlobalValues& globals() const override { return g_; }
  const CommandValues& values() const override { return o_; }
  const lifecycle::Config& config() const override { return config_; }
  Result<std::unique_ptr<lifecycle::Engine>> OpenEngine() override;
  int Fail(const Status& s, int code) override;
  int ExitFor(const Status& s) const override {
    if (s.code() == ErrorCode::kLocked) return kExitLocked;
    if (s.code() == ErrorCode::kInvalidArgument || s.code() == ErrorCode::kNotFound) {
      return kExitUsage;
    }
    return kExitFailed;
  }
  void Print(const std::string& text) override { std::cout << text << std::flush; }
  void PrintJson(const json& j) override { std::cout << DumpJson(j) << "\n" << std::flush; }
  // For JsonWriter: the text goes out in pieces as it is written.
  static JsonWriter::Sink StdoutSink() {
    return [](std::string_view text) { std::cout.write(text.data(), std::streamsize(text.size())); };
  }
  static void FinishJson(JsonWriter& w) {
    w.Finish();
    std::cout << "\n" << std::flush;
  }

 private:
  // Outcomes rendered by RenderOutcome; those of failed certificates go to stderr.
  void PrintOutcomes(const std::string& text, bool failed) {
    if (text.empty()) return;
    if (failed) {
      std::cerr << text << std::flush;
    } else {
      Print(text);
    }
  }
  // A failed certificate's outcome carries its error: that goes to stderr.
  void PrintOutcome(const lifecycle::CertificateOutcome& o) {
    if (o.error.ok()) {
      Print(RenderOutcome(o));
    } else {
      std::cerr << RenderOutcome(o) << std::flush;
    }
  }
  Status LoadConfig();
  // `--version`: certkeeper's and its run-time libraries' versions.
  int Version();

  // `COMMAND [ACTION] --help`, `help [COMMAND [ACTION]]` and `--help`.
  int Help(const std::string& command, std::vector<std::string> args, bool help_option);
  int Dispatch(const std::string& command, const std::vector<std::string>& args,
               const po::variables_map& vm);
  int CmdIssue(const std::vector<std::string>& args, const po::variables_map& vm);
  int CmdRenew(const std::vector<std::string>& args, const po::variables_map& vm);
  int CmdList();
  int CmdShow(const std::vector<std::string>& args);
  int CmdHistory(const std::vector<std::string>& args);
  int CmdRevoke(const std::vector<std::string>& args, const po::variables_map& vm);
  int CmdDeploy(const std::vector<std::string>& args);
  int CmdCheck();
  int CmdImport(const std::vector<std::string>& args);
  int CmdAccount(const std::vector<std::string>& args);

  GlobalValues g_;
  CommandValues o_;
  lifecycle::Config config_;
  bool config_checked_ = false;  // CheckConfig(config_) passed
};

int App::Fail(const Status& s, int code) {
  if (g_.json) {
    PrintJson(json{{"error", ErrorJson(s)}});
  } else {
    std::cerr << RenderError(s) << std::flush;
  }
  return code;
}

Status App::LoadConfig() {
  std::string path = g_.config_path;
  if (path.empty()) {
    const char* env = getenv("CERTKEEPER_CONFIG");
    if (env && *env) path = env;
  }
  if (path.empty() && fs::Exists("/etc/certkeeper/certkeeper.toml")) {
    path = "/etc/certkeeper/certkeeper.toml";
  }
  if (!path.empty()) {
    CK_ASSIGN_OR_RETURN(config_, LoadConfigFile(path));
  }
  // Command-line flags override the file; the environment overrides defaults.
  if (!g_.state_dir.empty()) {
    config_.state_dir = g_.state_dir;
  } else if (const char* env = getenv("CERTKEEPER_STATE_DIR"); env && *env) {
    config_.state_dir = env;
  }
  if (config_.state_dir.empty()) config_.state_dir = lifecycle::DefaultStateDir();
  // Without a config file nothing named this host yet.
  if (config_.host.empty()) config_.host = lifecycle::DefaultHostName();
  if (!config_.cas.empty() && !g_.ca_bundle.empty()) {
    return Status(ErrorCode::kInvalidArgument, "--ca-bundle cannot be combined with [[ca]] blocks")
        .Hint("set ca_bundle in the [[ca]] blocks of the config file");
  }
  CK_RETURN_IF_ERROR(ChooseCa(CaFlags{g_.server, g_.staging}, config_));
  if (!g_.ca_bundle.empty()) config_.acme.ca_bundle = g_.ca_bundle;
  if (!g_.email.empty()) config_.acme.email = g_.email;
  if (g_.agree_tos) config_.acme.agree_tos = true;
  for (lifecycle::AcmeSettings& ca : config_.cas) {
    if (!g_.email.empty()) ca.email = g_.email;
    if (g_.agree_tos) ca.agree_tos = true;
  }
  if (g_.allow_insecure_http) config_.acme.allow_insecure_http = true;
  // The merged settings: a --server URL is checked like the file's.
  CK_RETURN_IF_ERROR(lifecycle::CheckConfig(config_));
  config_checked_ = true;  // config_ stays as it is from here on
  for (const lifecycle::AcmeSettings& ca : config_.Cas()) {
    if (!ca.ca_bundle.empty() && !fs::Exists(ca.ca_bundle)) {
      return Status(ErrorCode::kInvalidArgument, "CA bundle file does not exist")
          .Where(ca.ca_bundle)
          .Hint("--ca-bundle (or ca_bundle in [acme] / [[ca]]) must name a PEM file of "
                "trust anchors");
    }
  }
  return Status::Ok();
}

// LoadConfig checked config_ already; checking again where the engine opens
// keeps that true for any command that changes config_ after loading it.
Result<std::unique_ptr<lifecycle::Engine>> App::OpenEngine() {
  // LoadConfig checked this very config (a check of 10,000 certificates is
  // not free).
  if (config_checked_) return lifecycle::Engine::Open(config_, RealClock());
  return lifecycle::OpenCheckedEngine(config_, RealClock());
}

int App::Run(int argc, char** argv) {
  po::options_description globals = GlobalOptions(g_);
  int cmd_index = FindCommandIndex(argc, argv, globals);
  std::string command = cmd_index > 0 ? argv[cmd_index] : "";
  const bool known = command.empty() || FindCommandInfo(command) != nullptr;

  std::vector<std::string> args;
  po::options_description all_opts;
  all_opts.add(globals).add(CommandOptions(command, o_));
  all_opts.add_options()("args", po::value(&args)->composing(), "arguments");
  po::positional_options_description pos;
  pos.add("args", -1);

  po::variables_map vm;
  try {
    // No guessing of abbreviations: `issue --all` would be taken for
    // --allow-insecure-http, and an option a command does not take must be
    // named as such, not matched to a global one.
    const int style = po::command_line_style::default_style &
                      ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv)
                  .options(all_opts)
                  .positional(pos)
                  .style(style)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    // A word that is no command explains an option it "does not take" better.
    if (!known) return Fail(UnknownCommandError(command), kExitUsage);
    std::string prefix = command.empty() ? "" : command + ": ";
    return Fail(Status(ErrorCode::kInvalidArgument, prefix + e.what())
                    .Hint("run `certkeeper " + (command.empty() ? std::string("") : command + " ") +
                          "--help`"),
                kExitUsage);
  }
  log::Options log_options;
  log_options.json = g_.json;
  if (g_.verbose) log_options.min_level = log::Level::kDebug;
  if (g_.quiet) log_options.min_level = log::Level::kWarn;
  log::Configure(log_options);

  if (vm.count("version")) return Version();
  if (!known) return Fail(UnknownCommandError(command), kExitUsage);
  // args[0] is the command word itself.
  if (!args.empty() && args.front() == command) args.erase(args.begin());
  if (vm.count("help") || command == "help") return Help(command, args, vm.count("help") > 0);
  if (command.empty()) {
    std::cerr << GlobalHelp() << std::flush;
    return kExitUsage;
  }
  Status loaded = LoadConfig();
  if (!loaded.ok()) return Fail(loaded, kExitUsage);
  return Dispatch(command, args, vm);
}

int App::Version() {
  const lifecycle::Versions v = lifecycle::RuntimeVersions();
  if (g_.json) {
    PrintJson(json{{"version", v.certkeeper},
                   {"openssl", v.openssl},
                   {"libcurl", v.curl},
                   {"sqlite", v.sqlite}});
  } else {
    Print("certkeeper " + v.certkeeper + "\nOpenSSL " + v.openssl + "\nlibcurl " + v.curl +
          "\nSQLite " + v.sqlite + "\n");
  }
  return kExitOk;
}

int App::Help(const std::string& command, std::vector<std::string> args, bool help_option) {
  Result<std::string> text = HelpText(command, std::move(args), help_option);
  if (!text.ok()) return Fail(text.status(), kExitUsage);
  Print(*text);
  return kExitOk;
}

// A command that reads every certificate of a large embedded inventory gets
// its heap in huge pages (base/heap_hint.h): a fresh `renew --all` over
// 10,000 certificates spends about a fifth of its time faulting in 4 KB
// pages otherwise. The heap it touches is about 12 times the database file
// (bench/README.md, "Huge pages"). Small inventories and other commands
// keep 4 KB pages, and so their small resident memory. So does a heap of
// more than kMaxHugeHeap: where the host backs a VM's memory lazily, every
// huge page the kernel takes from memory the guest never touched costs far
// more than the 512 faults it saves, and a run needing hundreds of them
// (100,000 certificates) measured up to twice as slow.
constexpr size_t kMaxHugeHeap = 128u << 20;

void HintBulkHeap(const lifecycle::Config& config) {
  if (!config.store.url.empty()) return;
  struct stat st;
  if (stat(store::InventoryPath(config.state_dir).c_str(), &st) != 0) return;
  const size_t heap = static_cast<size_t>(st.st_size) * 12;
  if (heap <= kMaxHugeHeap) ReserveHugePageHeap(heap);
}

int App::Dispatch(const std::string& command, const std::vector<std::string>& args,
                  const po::variables_map& vm) {
  if (command == "list" || command == "metrics" || (command == "renew" && o_.all)) {
    HintBulkHeap(config_);
  }
  if (command == "issue") return CmdIssue(args, vm);
  if (command == "renew") return CmdRenew(args, vm);
  if (command == "list") return CmdList();
  if (command == "show") return CmdShow(args);
  if (command == "history") return CmdHistory(args);
  if (command == "revoke") return CmdRevoke(args, vm);
  if (command == "deploy") return CmdDeploy(args);
  if (command == "check") return CmdCheck();
  if (command == "import") return CmdImport(args);
  if (command == "account") return CmdAccount(args);
  if (command == "metrics") return CmdMetrics(*this, args);
  if (command == "serve") return CmdServe(*this, args);
  if (command == "probe") return CmdProbe(*this, args);
  if (command == "alerts") return CmdAlerts(*this, args);
  if (command == "store") return CmdStore(*this, args);
  return Fail(UnknownCommandError(command), kExitUsage);
}

Status NeedOneName(const std::vector<std::string>& args, const std::string& command) {
  if (args.size() != 1) {
    return Status(ErrorCode::kInvalidArgument, command + " takes exactly one certificate name")
        .Hint("usage: certkeeper " + command + " NAME");
  }
  return ValidateCertificateName(args[0]);
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(start, comma - start);
    if (!item.empty()) out.push_back(item);
    start = comma + 1;
  }
  return out;
}

int App::CmdIssue(const std::vector<std::string>& args, const po::variables_map& vm) {
  Status s = NeedOneName(args, "issue");
  if (!s.ok()) return Fail(s, kExitUsage);
  lifecycle::CertificateSpec spec;
  if (const auto* existing = config_.FindCertificate(args[0])) spec = *existing;
  spec.name = args[0];
  if (!o_.domains.empty()) spec.domains.clear();
  for (const std::string& d : o_.domains) {
    auto canonical = CanonicalIdentifier(d);
    if (!canonical.ok()) return Fail(canonical.status(), kExitUsage);
    if (std::find(spec.domains.begin(), spec.domains.end(), *canonical) == spec.domains.end()) {
      spec.domains.push_back(*canonical);
    }
  }
  if (spec.domains.empty()) {
    return Fail(Status(ErrorCode::kInvalidArgument, "issue " + spec.name + ": no domains given")
                    .Hint("add -d example.com (repeat -d for more names)"),
                kExitUsage);
  }
  if (vm.count("key-type") || !config_.FindCertificate(args[0])) {
    auto kt = ParseKeyType(o_.key_type);
    if (!kt.ok()) return Fail(kt.status(), kExitUsage);
    spec.key_type = *kt;
  }
  if (vm.count("challenge")) spec.challenges = SplitList(o_.challenge_list);
  if (!o_.deploy.empty()) spec.deploy = o_.deploy;
  s = lifecycle::CheckCertificateSpec(config_, spec);
  if (!s.ok()) return Fail(s, kExitUsage);
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto outcome = (*engine)->Issue(spec);
  if (!outcome.ok()) return Fail(outcome.status(), ExitFor(outcome.status()));
  if (g_.json) {
    PrintJson(ToJson(*outcome));
  } else {
    PrintOutcome(*outcome);
  }
  if (!outcome->error.ok()) return ExitFor(outcome->error) == kExitLocked ? kExitLocked : kExitFailed;
  return kExitOk;
}

int App::CmdRenew(const std::vector<std::string>& args, const po::variables_map&) {
  if (!o_.all && args.empty()) {
    return Fail(Status(ErrorCode::kInvalidArgument, "renew needs --all or certificate names")
                    .Hint("run `certkeeper renew --all` from a timer"),
                kExitUsage);
  }
  if (o_.jobs < 1 || o_.jobs > 64) {
    return Fail(Status(ErrorCode::kInvalidArgument, "--jobs must be between 1 and 64"),
                kExitUsage);
  }
  lifecycle::RenewOptions options;
  options.all = o_.all;
  options.names = args;
  options.force = o_.force;
  options.dry_run = o_.dry_run;
  options.jobs = o_.jobs;
  for (const std::string& n : args) {
    Status s = ValidateCertificateName(n);
    if (!s.ok()) return Fail(s, kExitUsage);
  }
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto report = (*engine)->Renew(options);
  if (!report.ok()) return Fail(report.status(), ExitFor(report.status()));
  if (g_.json) {
    JsonWriter w(2, StdoutSink());
    w.BeginArray();
    for (const auto& o : report->certificates) WriteJson(w, o);
    w.EndArray();
    FinishJson(w);
  } else {
    // Consecutive outcomes of one stream in one write, not one per certificate;
    // in their order, failed ones to stderr.
    std::string pending;
    bool pending_failed = false;
    for (const auto& o : report->certificates) {
      if (!o.error.ok() != pending_failed) {
        PrintOutcomes(pending, pending_failed);
        pending.clear();
        pending_failed = !o.error.ok();
      }
      pending += RenderOutcome(o);
    }
    PrintOutcomes(pending, pending_failed);
    if (report->certificates.empty()) Print("Nothing to renew.\n");
  }
  return report->any_failed() ? kExitFailed : kExitOk;
}

int App::CmdList() {
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto certs = (*engine)->List();
  if (!certs.ok()) return Fail(certs.status(), ExitFor(certs.status()));
  TimePoint now = RealClock()->Now();
  if (g_.json) {
    JsonWriter w(2, StdoutSink());
    WriteListJson(w, *certs, now);
    FinishJson(w);
  } else {
    Print(RenderList(*certs, now));
  }
  return kExitOk;
}

int App::CmdShow(const std::vector<std::string>& args) {
  Status s = NeedOneName(args, "show");
  if (!s.ok()) return Fail(s, kExitUsage);
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto cert = (*engine)->Show(args[0]);
  if (!cert.ok()) return Fail(cert.status(), ExitFor(cert.status()));
  auto probes = LatestProbesFor(**engine, config_, args[0]);
  if (!probes.ok()) return Fail(probes.status(), ExitFor(probes.status()));
  TimePoint now = RealClock()->Now();
  if (g_.json) {
    json j = ToJson(*cert, now);
    j["endpoints"] = json::array();
    for (const auto& p : *probes) j["endpoints"].push_back(ToJson(p, now));
    PrintJson(j);
  } else {
    Print(RenderShow(*cert, now) + RenderShowProbes(*probes, now));
  }
  return kExitOk;
}

int App::CmdHistory(const std::vector<std::string>& args) {
  Status s = NeedOneName(args, "history");
  if (!s.ok()) return Fail(s, kExitUsage);
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto attempts = (*engine)->History(args[0]);
  if (!attempts.ok()) return Fail(attempts.status(), ExitFor(attempts.status()));
  if (g_.json) {
    json arr = json::array();
    for (const auto& a : *attempts) arr.push_back(ToJson(a));
    PrintJson(arr);
  } else {
    Print(RenderHistory(*attempts));
  }
  return kExitOk;
}

int App::CmdRevoke(const std::vector<std::string>& args, const po::variables_map&) {
  Status s = NeedOneName(args, "revoke");
  if (!s.ok()) return Fail(s, kExitUsage);
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  s = (*engine)->Revoke(args[0], o_.reason);
  if (!s.ok()) return Fail(s, ExitFor(s));
  if (g_.json) {
    PrintJson(json{{"name", args[0]}, {"outcome", "revoked"}, {"reason", o_.reason}});
  } else {
    Print(EscapeForTerminal(args[0]) + ": revoked (reason " + EscapeForTerminal(o_.reason) + ")\n");
  }
  return kExitOk;
}

int App::CmdDeploy(const std::vector<std::string>& args) {
  Status s = NeedOneName(args, "deploy");
  if (!s.ok()) return Fail(s, kExitUsage);
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto outcome = (*engine)->Deploy(args[0]);
  if (!outcome.ok()) return Fail(outcome.status(), ExitFor(outcome.status()));
  if (g_.json) {
    PrintJson(ToJson(*outcome));
  } else {
    PrintOutcome(*outcome);
  }
  return outcome->error.ok() ? kExitOk : kExitFailed;
}

int App::CmdCheck() {
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto findings = (*engine)->Check();
  if (!findings.ok()) return Fail(findings.status(), ExitFor(findings.status()));
  if (g_.json) {
    json arr = json::array();
    for (const auto& f : *findings) {
      arr.push_back({{"name", f.certificate}, {"severity", f.severity}, {"message", f.message}});
    }
    PrintJson(arr);
  }
  // "info" findings (a good revocation answer) are reports, not problems.
  const bool clean = std::none_of(findings->begin(), findings->end(), [](const auto& f) {
    return f.severity != "info";
  });
  if (!g_.json) {
    for (const auto& f : *findings) Print(RenderFinding(f));
    if (clean) Print("All certificates pass the audit.\n");
  }
  return clean ? kExitOk : kExitFailed;
}

int App::CmdImport(const std::vector<std::string>& args) {
  if (!o_.from.empty() || !o_.write_config.empty() || o_.dry_run) return CmdImportFrom(*this, args);
  if (args.empty()) {
    return Fail(Status(ErrorCode::kInvalidArgument, "import needs at least one path")
                    .Hint("usage: certkeeper import /etc/letsencrypt/live/example.com ..."),
                kExitUsage);
  }
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  auto names = (*engine)->Import(args);
  if (!names.ok()) return Fail(names.status(), ExitFor(names.status()));
  if (g_.json) {
    PrintJson(json{{"imported", *names}});
  } else {
    for (const auto& n : *names) Print("imported " + EscapeForTerminal(n) + "\n");
  }
  return kExitOk;
}

int App::CmdAccount(const std::vector<std::string>& args) {
  if (args.size() != 1) {
    return Fail(Status(ErrorCode::kInvalidArgument, "account needs one action")
                    .Hint("usage: certkeeper account register|show|rollover|deactivate"),
                kExitUsage);
  }
  auto engine = OpenEngine();
  if (!engine.ok()) return Fail(engine.status(), ExitFor(engine.status()));
  Result<lifecycle::AccountView> account = Status(ErrorCode::kInternal, "unset");
  const std::string& action = args[0];
  if (action == "register") {
    account = (*engine)->RegisterAccount();
  } else if (action == "show") {
    account = (*engine)->ShowAccount();
  } else if (action == "rollover") {
    account = (*engine)->RolloverAccountKey();
  } else if (action == "deactivate") {
    account = (*engine)->DeactivateAccount();
  } else {
    return Fail(UnknownActionError(*FindCommandInfo("account"), action), kExitUsage);
  }
  if (!account.ok()) return Fail(account.status(), ExitFor(account.status()));
  if (g_.json) {
    PrintJson(ToJson(*account));
  } else {
    Print(RenderAccount(*account));
  }
  return kExitOk;
}

}  // namespace

int Main(int argc, char** argv) {
  // A closed stdout (e.g. `| head`) must not kill a run half way with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  App app;
  return app.Run(argc, argv);
}

}  // namespace certkeeper::cli
