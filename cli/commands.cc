#include "cli/commands.h"

#include <algorithm>
#include <set>
#include <sstream>

namespace certkeeper::cli {

namespace po = boost::program_options;

namespace {

constexpr size_t kWidth = 79;
constexpr std::string_view kUsagePrefix = "usage: certkeeper [GLOBAL OPTIONS] ";
constexpr size_t kUsageIndent = 8;  // continuation lines of a long usage
constexpr std::string_view kGlobalPointer = "Global options: certkeeper --help\n";

constexpr const char* kExitCodes =
    "Exit codes: 0 success or nothing due; 1 usage or configuration error;\n"
    "2 at least one certificate failed (older versions stay live); 3 another run\n"
    "holds the lock.\n";

// Breaks `text` into lines of at most kWidth columns at spaces; the first line
// starts with `first`, the others with `indent` spaces.
std::string Wrap(std::string_view text, std::string_view first, size_t indent) {
  std::string out(first);
  size_t column = out.size();
  bool line_empty = true;
  std::istringstream words{std::string(text)};
  std::string word;
  while (words >> word) {
    if (!line_empty && column + 1 + word.size() > kWidth) {
      out += "\n" + std::string(indent, ' ');
      column = indent;
      line_empty = true;
    }
    if (!line_empty) {
      out += ' ';
      ++column;
    }
    out += word;
    column += word.size();
    line_empty = false;
  }
  return out + "\n";
}

// "  name        summary" rows, the summaries aligned.
template <typename Row>
std::string Listing(const std::vector<Row>& rows) {
  size_t width = 0;
  for (const Row& r : rows) width = std::max(width, r.name.size());
  std::string out;
  for (const Row& r : rows) {
    std::string head = "  " + std::string(r.name) + std::string(width - r.name.size() + 3, ' ');
    out += Wrap(r.summary, head, head.size());
  }
  return out;
}

}  // namespace

const std::vector<CommandInfo>& Commands() {
  static const std::vector<CommandInfo> kCommands = {
      {"issue",
       "issue NAME -d DOMAIN [-d DOMAIN ...] [--challenge LIST] [--key-type TYPE] "
       "[--deploy TARGET ...]",
       "add NAME to the inventory (or update it) and issue now",
       "Adds the certificate NAME to the inventory, or updates it, and issues it now whether "
       "or not it is due. When NAME is a [[certificate]] of the config file, its settings are "
       "the defaults and the options given here replace them. The first domain is the "
       "certificate's common name. The challenge types of LIST are tried in order for each "
       "name: a solver checks itself before the CA is asked, and a validation the CA rejects "
       "is retried on a new order with the next type. Wildcard names need dns-01.",
       {}},
      {"renew", "renew (--all | NAME ...) [--force] [--dry-run] [--jobs N]",
       "renew what is due (from a timer: renew --all)",
       "Renews what is due: with --all every certificate in the inventory, else the named "
       "ones. A certificate is due inside its renewal window, or the CA's renewalInfo window "
       "(RFC 9773) when the CA offers one; after a failure it waits for its backoff, and a "
       "CA's Retry-After is always respected. The previous version stays live until the new "
       "one is installed, verified and recorded. Exits 2 when at least one certificate "
       "failed.",
       {}},
      {"list", "list", "the inventory, one row per certificate",
       "Prints the inventory, one row per certificate: name, status, expiry, days left, "
       "domains and the next renewal attempt with its reason. Sends nothing to the CA.",
       {}},
      {"show", "show NAME", "one certificate: versions, files, next renewal",
       "Prints the certificate NAME of the inventory: status, domains, key type, challenge "
       "types, deploy targets, the live version (serial, validity, issuer, fingerprint, "
       "files), every version, and when and why it is renewed next.",
       {}},
      {"history", "history NAME", "every renewal attempt, newest first",
       "Prints every attempt to issue, renew or deploy the certificate NAME, newest first, "
       "with each step (order, self-check, validation, deploy), its result and the CA's "
       "problem when one failed.",
       {}},
      {"revoke", "revoke NAME [--reason REASON]", "revoke the live version",
       "Asks the CA to revoke the live version of the certificate NAME (RFC 8555 section "
       "7.6) with an RFC 5280 reason, and records the revocation in the inventory. A "
       "certificate that another account ordered (an imported one) is revoked by proving "
       "control of its key.",
       {}},
      {"deploy", "deploy NAME", "run the deploy targets again for the live version",
       "Runs the deploy targets of the certificate NAME again for its newest version: each "
       "target installs, reloads and verifies it, and a failure restores every target's "
       "previous files. This delivers a version recorded as deploy_failed.",
       {}},
      {"check", "check", "audit expiry, chain, key match of every certificate",
       "Checks every certificate of the inventory: its live files are readable and match the "
       "inventory's fingerprint, it has not expired (a warning inside 14 days), the key "
       "matches the certificate, the chain verifies and the certificate covers all its "
       "domains. It also asks whether the CA revoked each live certificate, by OCSP and by "
       "CRL where the certificate names a responder or distribution point (docs/revocation.md): "
       "a revoked one is an error and is renewed by the next run, a good answer is an info "
       "line. Exits 2 when there is any error or warning.",
       {}},
      {"import", "import PATH ... | import --from certbot|lego [DIR] [--write-config FILE] [--dry-run]",
       "bring existing certificates into the inventory",
       "Brings existing certificates into the inventory so that certkeeper renews them. A "
       "PATH is a directory such as certbot's live/NAME/ (fullchain.pem or cert.pem, "
       "privkey.pem or key.pem) or a single PEM file; the certificate is named after the "
       "directory or file, or after its first DNS name when that is not a valid name. "
       "With --from certbot (DIR default /etc/letsencrypt) or --from lego (DIR default "
       "~/.lego) it takes over the other client: every certbot lineage with all its archived "
       "versions (the live one last), or lego's current certificates, without re-issuing; "
       "the account of each CA (key and URL, so renewals keep its history); and the renewal "
       "settings as a config: authenticator standalone or webroot as the http-01 solver, "
       "manual dns-01 hooks as an exec DNS provider, deploy and post hooks as command "
       "deploy targets (run with /bin/sh -c, as certbot runs them), preferred_chain and the "
       "key type. It prints what it imported and each setting it could not map, with a "
       "hint. DIR is only read: symlinks are followed only where they stay inside DIR, and "
       "each file read is bounded. The config is written to a new --write-config FILE (an "
       "existing file is never overwritten), else printed; --dry-run prints it and writes "
       "nothing. For lego, whose folders do not name the directory URL of a CA other than "
       "Let's Encrypt, give --server. See docs/migrate.md.",
       {}},
      {"account", "account ACTION", "the ACME account: register, show, rollover, deactivate",
       "Manages the ACME account with the configured CA: its key is kept under "
       "STATE/accounts/, its URL in the inventory, so that a run with a stored account sends "
       "no account request.",
       {{"register", "create the account with the CA, or use the stored one",
         "Registers an account with the configured CA and stores its key and URL; with a "
         "stored account, prints it. Agreeing to the CA's terms of service needs --agree-tos "
         "or acme.agree_tos; --email or acme.email is the contact address."},
        {"show", "the stored account and its status at the CA",
         "Prints the account stored for the configured CA and asks the CA for its current "
         "status."},
        {"rollover", "replace the account key (RFC 8555 section 7.3.5)",
         "Replaces the account key with a new EC P-256 key (RFC 8555 section 7.3.5). The new "
         "key is written before the CA is asked and the old one is kept as account.key.old; "
         "when the CA's answer is lost, the next command that uses the account asks the CA "
         "which key it accepts and keeps that one."},
        {"deactivate", "deactivate the account at the CA (cannot be undone)",
         "Deactivates the account at the CA (RFC 8555 section 7.3.6). The CA refuses every "
         "later request signed with its key; this cannot be undone."}}},
      {"metrics", "metrics [--textfile PATH]", "Prometheus metrics of every certificate and CA",
       "Prints the Prometheus text exposition of the inventory: per certificate its validity, "
       "renewal time, next attempt, status and failures; per CA whether it was reachable, "
       "its requests and Retry-After; the last run; and each endpoint's last probe. With "
       "--textfile, writes it atomically to PATH for node_exporter's textfile collector "
       "instead. Sends nothing to the CA.",
       {}},
      {"serve", "serve [--listen ADDR] [--renew-every D] [--probe-every D]",
       "serve /metrics, /healthz, /api/certificates and a status page",
       "Runs until stopped (SIGTERM or SIGINT) and serves, over HTTP: /metrics (Prometheus), "
       "/healthz (ok or degraded with reasons), /api/certificates (the JSON of `list "
       "--json`) and / (a status page). Listens on 127.0.0.1:9150 unless --listen or "
       "[serve] listen says otherwise; an address other than loopback requires [serve] "
       "token_file (a bearer token). With --renew-every it also renews what is due, as the "
       "timer's renewal of every certificate does, on a jittered schedule under the same "
       "lock, and with --probe-every it runs the "
       "endpoint probes. No request changes state.",
       {}},
      {"probe", "probe", "connect to every [[endpoint]] and check what it serves",
       "Connects to every [[endpoint]] of the config over TLS and records what it serves: "
       "the certificate's expiry, whether it covers the SNI, whether its chain verifies, "
       "whether it is the live version of the inventory certificate it should serve, and "
       "the handshake time. Then evaluates the alerts. Exits 2 when any endpoint fails or "
       "serves names, a chain or a version other than it should, 1 when no [[endpoint]] is "
       "configured (docs/probes.md).",
       {}},
      {"alerts", "alerts", "the alert conditions being tracked and their notifications",
       "Prints every condition the [[alert]] blocks track: the alert, the event, the "
       "certificate, endpoint or CA it is about, since when, whether its firing (or "
       "resolution) reached the target, and a failing target's last error and next try. "
       "Reads the inventory only; the alerts are evaluated by `renew` and `probe`.",
       {}},
      {"store",
       "store (migrate | copy --to URL [--password-file PATH] [--key-file PATH] [--dry-run])",
       "the inventory's database: migrate, copy to PostgreSQL",
       "Works on the inventory's database itself (docs/fleet.md). `store migrate` upgrades "
       "the shared PostgreSQL inventory of [store] url to this certkeeper's schema; `store "
       "copy --to URL` moves this host's SQLite inventory into an empty PostgreSQL database "
       "that a fleet of hosts then shares. A password is never given on the command line: "
       "--password-file or [store] password_file.",
       {{"migrate", "upgrade the shared inventory's schema to this version",
         "With [store] url, connects to the shared inventory and migrates its schema to the "
         "version this certkeeper knows, printing the version before and after (or that it is "
         "already there). Upgrade every host's certkeeper first: a host with an older "
         "certkeeper refuses a newer inventory. A database newer than this certkeeper is "
         "refused and left as it was. Without [store] url it reports the local SQLite "
         "inventory's version: that one is migrated automatically whenever certkeeper opens "
         "it."},
        {"copy", "copy this host's SQLite inventory into an empty PostgreSQL",
         "Copies every row of the state directory's SQLite inventory into the empty "
         "PostgreSQL database of --to (a database holding any row is refused), in one "
         "transaction, then verifies every table's row count and SHA-256 checksum and "
         "commits only when all match. The account keys and every version's files are "
         "shared with the fleet, sealed with the key of --key-file or [store] "
         "encryption_key_file, so that other hosts can use and deliver them. --dry-run counts "
         "and checks without writing."}}},
      {"help", "help [COMMAND [ACTION]]", "a command's usage and options",
       "Prints the usage, description and options of COMMAND (or of one account ACTION), "
       "the same text as `certkeeper COMMAND --help`; without COMMAND, the list of "
       "commands.",
       {}},
  };
  return kCommands;
}

const CommandInfo* FindCommandInfo(std::string_view name) {
  for (const CommandInfo& c : Commands()) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const ActionInfo* FindAction(const CommandInfo& command, std::string_view name) {
  for (const ActionInfo& a : command.actions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

std::string CommandNames() {
  std::string out;
  for (const CommandInfo& c : Commands()) out += (out.empty() ? "" : ", ") + std::string(c.name);
  return out;
}

std::string ActionNames(const CommandInfo& command) {
  std::string out;
  for (const ActionInfo& a : command.actions) {
    out += (out.empty() ? "" : ", ") + std::string(a.name);
  }
  return out;
}

po::options_description GlobalOptions(GlobalValues& g) {
  po::options_description d("Global options", kWidth);
  d.add_options()
      ("config,c", po::value(&g.config_path)->value_name("FILE"),
       "config file (env CERTKEEPER_CONFIG; default /etc/certkeeper/certkeeper.toml when present)")
      ("state-dir", po::value(&g.state_dir)->value_name("DIR"),
       "inventory and key store (env CERTKEEPER_STATE_DIR; default /var/lib/certkeeper as root, "
       "else $XDG_STATE_HOME/certkeeper)")
      ("server", po::value(&g.server)->value_name("URL"),
       "ACME directory URL (overrides the config; default Let's Encrypt production "
       "when no CA is configured)")
      ("staging", po::bool_switch(&g.staging),
       "use Let's Encrypt's staging directory (not with --server or [[ca]])")
      ("ca-bundle", po::value(&g.ca_bundle)->value_name("FILE"),
       "extra PEM trust anchors for the ACME server's TLS")
      ("email", po::value(&g.email)->value_name("ADDR"),
       "account contact address (overrides the config)")
      ("agree-tos", po::bool_switch(&g.agree_tos), "agree to the CA's terms of service")
      ("allow-insecure-http", po::bool_switch(&g.allow_insecure_http),
       "accept a plain http:// ACME directory URL (test CAs only)")
      ("json", po::bool_switch(&g.json), "machine-readable output on stdout")
      ("verbose,v", po::bool_switch(&g.verbose), "log every request and step")
      ("quiet,q", po::bool_switch(&g.quiet), "log only warnings and errors")
      ("help,h", "show help (with a command: that command's help)")
      ("version", "show the version and those of OpenSSL, libcurl and SQLite");
  return d;
}

po::options_description CommandOptions(std::string_view command, CommandValues& o) {
  po::options_description d("Options", kWidth);
  if (command == "issue") {
    d.add_options()
        ("domain,d", po::value(&o.domains)->composing()->value_name("DOMAIN"),
         "a domain name; repeat for more (the first is the CN)")
        ("challenge", po::value(&o.challenge_list)->value_name("LIST"),
         "ordered failover list, e.g. http-01,dns-01,tls-alpn-01")
        ("key-type", po::value(&o.key_type)->value_name("TYPE"),
         "ec256 (default), ec384, rsa2048, rsa3072, rsa4096")
        ("deploy", po::value(&o.deploy)->composing()->value_name("TARGET"),
         "deploy target name from the config; repeatable");
  } else if (command == "renew") {
    d.add_options()
        ("all", po::bool_switch(&o.all), "every certificate in the inventory")
        ("force", po::bool_switch(&o.force),
         "ignore backoff and budgets (never a CA's Retry-After)")
        ("dry-run", po::bool_switch(&o.dry_run),
         "show what would be renewed and why; change nothing")
        ("jobs,j", po::value(&o.jobs)->value_name("N"),
         "certificates processed concurrently, 1 to 64 (default 1)");
  } else if (command == "metrics") {
    d.add_options()
        ("textfile", po::value(&o.textfile)->value_name("PATH"),
         "write the metrics atomically to PATH instead of stdout");
  } else if (command == "serve") {
    d.add_options()
        ("listen", po::value(&o.listen)->value_name("ADDR"),
         "host:port to listen on (default [serve] listen, else 127.0.0.1:9150)")
        ("renew-every", po::value(&o.renew_every)->value_name("D"),
         "also renew what is due this often, jittered (e.g. 12h; default never)")
        ("probe-every", po::value(&o.probe_every)->value_name("D"),
         "also probe the endpoints this often (e.g. 5m; default never)");
  } else if (command == "store") {
    d.add_options()
        ("to", po::value(&o.store_to)->value_name("URL"),
         "copy: the target, postgresql://[user@]host[:port]/dbname (no password)")
        ("password-file", po::value(&o.password_file)->value_name("PATH"),
         "copy: the target's password, a root-only file (default [store] password_file)")
        ("key-file", po::value(&o.key_file)->value_name("PATH"),
         "copy: the fleet's encryption key (default [store] encryption_key_file)")
        ("dry-run", po::bool_switch(&o.dry_run),
         "copy: count and check; write nothing");
  } else if (command == "import") {
    d.add_options()
        ("from", po::value(&o.from)->value_name("CLIENT"),
         "certbot or lego: take over that client's directory (DIR)")
        ("write-config", po::value(&o.write_config)->value_name("FILE"),
         "with --from: write the config to FILE, which must not exist yet")
        ("dry-run", po::bool_switch(&o.dry_run),
         "with --from: show what would be imported and the config; write nothing");
  } else if (command == "revoke") {
    d.add_options()
        ("reason", po::value(&o.reason)->value_name("REASON"),
         "unspecified (default), keyCompromise, superseded, cessationOfOperation, "
         "affiliationChanged");
  }
  return d;
}

std::string GlobalHelp() {
  std::ostringstream out;
  out << "usage: certkeeper [GLOBAL OPTIONS] COMMAND [ARGS]\n\nCommands:\n" << Listing(Commands())
      << "\nRun `certkeeper COMMAND --help` (or `certkeeper help COMMAND`) for a command's\n"
         "usage and options.\n\n";
  GlobalValues unused;
  out << GlobalOptions(unused) << "\n" << kExitCodes;
  return out.str();
}

std::string CommandHelp(const CommandInfo& command, const ActionInfo* action) {
  std::string usage(command.usage);
  std::string_view description = command.description;
  if (action != nullptr) {
    usage = std::string(command.name) + " " + std::string(action->name);
    description = action->description;
  }
  std::ostringstream out;
  out << Wrap(usage, kUsagePrefix, kUsageIndent) << "\n" << Wrap(description, "", 0);
  if (action == nullptr && !command.actions.empty()) {
    out << "\nActions:\n" << Listing(command.actions) << "\nRun `certkeeper " << command.name
        << " ACTION --help` for one action.\n";
  }
  CommandValues unused;
  po::options_description options = CommandOptions(command.name, unused);
  if (action == nullptr && !options.options().empty()) out << "\n" << options;
  out << "\n" << kGlobalPointer;
  return out.str();
}

int FindCommandIndex(int argc, char** argv, const po::options_description& globals) {
  // Read from the options themselves, so a new valued option is never taken
  // for the command.
  std::set<std::string> valued;
  for (const auto& option : globals.options()) {
    if (option->semantic()->max_tokens() == 0) continue;
    valued.insert(option->canonical_display_name(po::command_line_style::allow_long));
    std::string short_name =
        option->canonical_display_name(po::command_line_style::allow_dash_for_short);
    if (short_name.size() == 2 && short_name[0] == '-') valued.insert(short_name);
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") return i + 1 < argc ? i + 1 : -1;
    if (!a.empty() && a[0] == '-') {
      if (valued.count(a)) ++i;
      continue;
    }
    return i;
  }
  return -1;
}

Status UnknownCommandError(std::string_view command) {
  return Status(ErrorCode::kInvalidArgument, "unknown command \"" + std::string(command) + "\"")
      .Hint("the commands are " + CommandNames() +
            "; run `certkeeper --help` for what each one does");
}

Status UnknownActionError(const CommandInfo& command, std::string_view action) {
  std::string name(command.name);
  return Status(ErrorCode::kInvalidArgument,
                "unknown " + name + " action \"" + std::string(action) + "\"")
      .Hint("use one of " + ActionNames(command) + "; run `certkeeper " + name + " --help`");
}

Result<std::string> HelpText(std::string_view command, std::vector<std::string> args,
                             bool help_option) {
  std::string_view target = command;
  std::string first;
  if (command == "help" && !args.empty()) {
    first = args.front();
    target = first;
    args.erase(args.begin());
  } else if (command == "help" && !help_option) {
    target = "";
  }
  if (target.empty()) return GlobalHelp();
  const CommandInfo* info = FindCommandInfo(target);
  if (info == nullptr) return UnknownCommandError(target);
  const ActionInfo* action = nullptr;
  if (!info->actions.empty() && !args.empty()) {
    action = FindAction(*info, args.front());
    if (action == nullptr) return UnknownActionError(*info, args.front());
  }
  return CommandHelp(*info, action);
}

}  // namespace certkeeper::cli
