// The Debian package as an admin meets it: packaging/build-deb packages this
// build tree, dpkg installs it, the binary, the man pages, the modes, the
// conffile and the (not enabled) systemd units are there, dpkg -r and
// dpkg --purge leave nothing behind, and lintian reports no error.
// Installing needs root (the CI machine runs as root); otherwise it is skipped.
#include <glob.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/fs.h"
#include "base/process.h"
#include "tests/e2e/child_process.h"

namespace certkeeper {
namespace {

using namespace std::chrono_literals;

const std::string kPackage = "certkeeper";

struct Ran {
  bool ok = false;
  std::string out;
  std::string err;
  std::string what;  // how it ended, for failure messages
};

Ran RunTool(std::vector<std::string> argv, std::chrono::milliseconds timeout = 120s) {
  ProcessSpec spec;
  spec.argv = std::move(argv);
  spec.timeout = timeout;
  spec.max_output = 1024 * 1024;
  spec.env = {{"DEBIAN_FRONTEND", "noninteractive"}};
  Ran r;
  auto result = RunProcess(spec);
  if (!result.ok()) {
    r.what = result.status().ToString();
    return r;
  }
  r.ok = result->success();
  r.out = result->stdout_data;
  r.err = result->stderr_data;
  r.what = spec.argv[0] + ": " + result->Describe() + "\n" + r.err;
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// dpkg's status word of the package: "installed", "config-files", or "" when
// dpkg knows nothing of it.
std::string PackageStatus() {
  Ran r = RunTool({"dpkg-query", "-W", "-f=${db:Status-Status}", kPackage});
  return r.ok ? r.out : "";
}

void Purge() {
  if (PackageStatus().empty() || PackageStatus() == "not-installed") return;
  Ran r = RunTool({"dpkg", "--purge", kPackage});
  EXPECT_TRUE(r.ok) << r.what;
}

// Purges the package when the test ends, however it ends.
struct PurgeAtExit {
  ~PurgeAtExit() { Purge(); }
};

bool Exists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void ExpectMode(const std::string& path, mode_t type, mode_t mode) {
  struct stat st;
  ASSERT_EQ(lstat(path.c_str(), &st), 0) << path << " is missing";
  EXPECT_EQ(st.st_mode & S_IFMT, type) << path;
  EXPECT_EQ(st.st_mode & 07777, mode) << path << std::oct << " has mode " << (st.st_mode & 07777);
  EXPECT_EQ(st.st_uid, 0u) << path;
  EXPECT_EQ(st.st_gid, 0u) << path;
}

// Docker-style Debian images drop documentation at install time with
// path-exclude lines in /etc/dpkg/dpkg.cfg.d/ (e.g. "excludes"); then
// `man -w` finds nothing however good the package is. Such lines are undone
// for this package's own man pages and docs with --path-include, which dpkg
// applies after its configuration files.
std::vector<std::string> PathIncludes() {
  std::vector<std::string> includes;
  glob_t g{};
  if (glob("/etc/dpkg/dpkg.cfg.d/*", 0, nullptr, &g) == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) {
      auto text = fs::ReadFile(g.gl_pathv[i]);
      if (!text.ok()) continue;
      for (const std::string& line : Lines(*text)) {
        if (line.rfind("path-exclude", 0) != 0) continue;
        std::cout << "dpkg config " << g.gl_pathv[i] << " has \"" << line
                  << "\": installing this package's man pages and docs anyway\n";
        includes = {"--path-include=/usr/share/man/man1/certkeeper.1.gz",
                    "--path-include=/usr/share/man/man5/certkeeper.toml.5.gz",
                    "--path-include=/usr/share/doc/certkeeper/*"};
      }
    }
  }
  globfree(&g);
  return includes;
}

// dpkg -S for each path: the packages that own it.
std::map<std::string, std::set<std::string>> Owners(const std::vector<std::string>& paths) {
  std::vector<std::string> argv = {"dpkg-query", "-S"};
  argv.insert(argv.end(), paths.begin(), paths.end());
  Ran r = RunTool(argv);
  EXPECT_TRUE(r.ok) << r.what;
  std::map<std::string, std::set<std::string>> owners;
  for (const std::string& line : Lines(r.out)) {
    // "pkg1, pkg2: /path" (diversions say "diversion by ..." and are skipped)
    if (line.rfind("diversion", 0) == 0) continue;
    size_t colon = line.find(": /");
    if (colon == std::string::npos) continue;
    std::istringstream names(line.substr(0, colon));
    std::string name;
    while (std::getline(names, name, ',')) {
      name.erase(0, name.find_first_not_of(' '));
      owners[line.substr(colon + 2)].insert(name.substr(0, name.find(':')));
    }
  }
  return owners;
}

TEST(DebPackageTest, InstallsChecksRemovesAndPurges) {
  if (geteuid() != 0) {
    GTEST_SKIP() << "dpkg -i needs root: run as root (the CI machine does) to install, check "
                    "and purge the package";
  }
  // A run that died half way may have left the package installed.
  Purge();
  ASSERT_NE(PackageStatus(), "installed");
  // What is there now is no package's: the purge at the end would delete it.
  for (const char* path : {"/etc/certkeeper", "/var/lib/certkeeper"}) {
    ASSERT_FALSE(Exists(path)) << path << " exists and no certkeeper package owns it; this test "
                               << "installs and purges the package, which would delete it. "
                               << "Move it away to run the test.";
  }

  fs::TempDir out;
  Ran built = RunTool({std::string(CERTKEEPER_SOURCE_DIR) + "/packaging/build-deb", out.path(),
                   "--build-dir", CERTKEEPER_BUILD_DIR},
                  600s);
  ASSERT_TRUE(built.ok) << built.what << built.out;
  std::vector<std::string> printed = Lines(built.out);
  ASSERT_FALSE(printed.empty());
  const std::string deb = printed.back();
  ASSERT_TRUE(Exists(deb)) << deb;

  // lintian takes longest: it runs while the package is installed and removed.
  const std::string lintian_log = out.path() + "/lintian.log";
  child_process::Child lintian({"/usr/bin/lintian", deb}, lintian_log);

  PurgeAtExit purge_at_exit;
  std::vector<std::string> install = {"dpkg"};
  for (const std::string& include : PathIncludes()) install.push_back(include);
  install.insert(install.end(), {"-i", deb});
  Ran installed = RunTool(install);
  ASSERT_TRUE(installed.ok) << installed.what << installed.out;
  EXPECT_EQ(PackageStatus(), "installed");

  Ran version = RunTool({"/usr/bin/certkeeper", "--version"});
  ASSERT_TRUE(version.ok) << version.what;
  std::vector<std::string> version_lines = Lines(version.out);
  ASSERT_EQ(version_lines.size(), 4u) << version.out;
  EXPECT_EQ(version_lines[0], std::string("certkeeper ") + CERTKEEPER_VERSION);
  EXPECT_EQ(version_lines[1].rfind("OpenSSL 3.", 0), 0u) << version.out;
  EXPECT_EQ(version_lines[2].rfind("libcurl ", 0), 0u) << version.out;
  EXPECT_EQ(version_lines[3].rfind("SQLite 3.", 0), 0u) << version.out;

  Ran man1 = RunTool({"man", "-w", "certkeeper"});
  EXPECT_TRUE(man1.ok) << man1.what;
  EXPECT_EQ(man1.out, "/usr/share/man/man1/certkeeper.1.gz\n");
  Ran man5 = RunTool({"man", "-w", "certkeeper.toml"});
  EXPECT_TRUE(man5.ok) << man5.what;
  EXPECT_EQ(man5.out, "/usr/share/man/man5/certkeeper.toml.5.gz\n");

  ExpectMode("/usr/bin/certkeeper", S_IFREG, 0755);
  ExpectMode("/var/lib/certkeeper", S_IFDIR, 0700);
  ExpectMode("/etc/certkeeper/certkeeper.toml", S_IFREG, 0644);
  ExpectMode("/usr/include/certkeeper/certkeeper_dns_plugin.h", S_IFREG, 0644);
  ExpectMode("/usr/share/bash-completion/completions/certkeeper", S_IFREG, 0644);
  ExpectMode("/usr/share/doc/certkeeper/copyright", S_IFREG, 0644);
  Ran conffiles = RunTool({"dpkg-query", "-W", "--showformat=${Conffiles}", kPackage});
  EXPECT_TRUE(conffiles.ok) << conffiles.what;
  EXPECT_NE(conffiles.out.find("/etc/certkeeper/certkeeper.toml "), std::string::npos)
      << conffiles.out;

  // Installed, not enabled: no unit of the package is wanted by any target.
  for (const char* unit : {"certkeeper.service", "certkeeper.timer", "certkeeper-serve.service"}) {
    ExpectMode(std::string("/lib/systemd/system/") + unit, S_IFREG, 0644);
  }
  glob_t wants{};
  if (glob("/etc/systemd/system/*.wants/certkeeper*", 0, nullptr, &wants) == 0) {
    for (size_t i = 0; i < wants.gl_pathc; ++i) ADD_FAILURE() << "enabled: " << wants.gl_pathv[i];
  }
  globfree(&wants);

  Ran listed = RunTool({"dpkg", "-L", kPackage});
  ASSERT_TRUE(listed.ok) << listed.what;
  std::vector<std::string> files;
  for (const std::string& line : Lines(listed.out)) {
    if (line != "/." && line[0] == '/') files.push_back(line);
  }
  ASSERT_GE(files.size(), 10u) << listed.out;
  // What other packages own too (/usr/bin, /lib/systemd/system) stays.
  std::map<std::string, std::set<std::string>> owners = Owners(files);
  std::vector<std::string> own;
  for (const std::string& f : files) {
    if (owners[f] == std::set<std::string>{kPackage}) own.push_back(f);
  }
  ASSERT_FALSE(own.empty());

  Ran removed = RunTool({"dpkg", "-r", kPackage});
  ASSERT_TRUE(removed.ok) << removed.what;
  EXPECT_EQ(PackageStatus(), "config-files");
  for (const std::string& f : own) {
    if (f == "/etc/certkeeper" || f == "/etc/certkeeper/certkeeper.toml") continue;
    EXPECT_FALSE(Exists(f)) << f << " is left after dpkg -r";
  }
  EXPECT_TRUE(Exists("/etc/certkeeper/certkeeper.toml")) << "dpkg -r keeps the conffile";
  EXPECT_TRUE(Exists("/var/lib/certkeeper")) << "dpkg -r keeps the state";

  Ran purged = RunTool({"dpkg", "--purge", kPackage});
  ASSERT_TRUE(purged.ok) << purged.what;
  EXPECT_EQ(PackageStatus(), "");
  for (const std::string& f : own) EXPECT_FALSE(Exists(f)) << f << " is left after dpkg --purge";
  EXPECT_FALSE(Exists("/etc/certkeeper"));
  EXPECT_FALSE(Exists("/var/lib/certkeeper"));

  const int status = lintian.Wait(300s);
  auto report = fs::ReadFile(lintian_log);
  ASSERT_TRUE(report.ok()) << report.status().ToString();
  std::cout << "lintian " << deb << ":\n" << *report << std::flush;
  // lintian exits non-zero only for errors (or when it could not run).
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << *report;
  for (const std::string& line : Lines(*report)) {
    EXPECT_NE(line.rfind("E: ", 0), 0u) << line;
  }
}

}  // namespace
}  // namespace certkeeper
