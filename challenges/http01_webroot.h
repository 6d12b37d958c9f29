// HTTP-01 (RFC 8555 §8.3) answered by a web server that already runs on this
// host: the token files are written below its document root.
#ifndef CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_
#define CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/dirfd.h"
#include "base/status.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

// Writes <webroot>/.well-known/acme-challenge/<token> with the key authorization
// as its content (file 0644, written atomically; missing directories created
// 0755) for the web server to serve.
//
// The document root is usually writable by the web server's user, and
// certkeeper runs as root, so nothing is done there by path: the webroot is
// opened once (fs::OpenDirectory: no untrusted symlink in its path is
// followed), .well-known and acme-challenge are opened or created relative to
// it (mkdirat, then fchmod on the created directory's fd), and the token files
// are written and removed relative to the acme-challenge descriptor, which
// stays open from Present to the CleanUp that removes the last token. Moving
// or replacing a directory in between does not redirect any write or removal.
//
// Nothing is ever written outside the webroot: tokens must be base64url (so no
// '/' and no ".."); a .well-known or acme-challenge that is a symlink is
// followed only when root (or the user certkeeper runs as) owns it and its
// directory and nobody else can write that directory (fs::TrustedSymlink) —
// an administrator's link, not one the web server's user planted — and it must
// still lead to a directory inside the webroot (checked on descriptors), or
// Present refuses to write.
//
// A run killed between Present and CleanUp leaves its token files; the next
// Present that opens the existing acme-challenge directory removes those that
// are certainly ours and certainly dead: regular files owned by the effective
// user, named like a token (22+ base64url characters), holding that token's key
// authorization ("<token>.", or a temporary name of a token: a write cut
// short), and older than an hour (no validation lasts that long, so a younger
// file may be another run's). Anything else there is left alone.
//
// CleanUp removes exactly the files Present wrote for the given tasks, and then,
// when no file of ours is left, the directories Present created if they are
// empty. When Present fails half way it removes what it wrote before returning.
// The solver does not check what the web server serves; the CA's validation
// does (the web server may run anywhere the names point).
class Http01WebrootSolver : public Solver {
 public:
  // webroot: the document root the web server serves for every identifier.
  static Result<std::unique_ptr<Http01WebrootSolver>> Create(std::string webroot);

  std::string_view type() const override { return kHttp01; }
  // The webroot exists, is a directory and is writable; every task is valid.
  Status SelfCheck(const std::vector<ChallengeTask>& tasks) override;
  Status Present(const std::vector<ChallengeTask>& tasks) override;
  Status CleanUp(const std::vector<ChallengeTask>& tasks) override;
  std::vector<SolverNote> TakeNotes() override;

  const std::string& webroot() const { return webroot_; }

 private:
  struct WrittenFile {
    std::string token;
    std::string path;  // for messages
  };
  explicit Http01WebrootSolver(std::string webroot) : webroot_(std::move(webroot)) {}
  Result<fs::Dir> OpenWebroot() const;
  // Opens root_, well_known_ and challenge_ when they are not open yet.
  Status OpenChallengeDirectory();
  // The directory `name` inside parent, created when missing (*created says so).
  Result<fs::Dir> EnsureDirectory(const fs::Dir& parent, const std::string& name,
                                  bool* created);
  Status RemoveFiles(const std::vector<std::string>& tokens);
  // Best effort, when Present opens an existing acme-challenge directory:
  // removes the token files a killed run left (owned by the effective user,
  // regular files, token-shaped names, content "<name>." for a token or a
  // temporary name of one, older than an hour).
  void RemoveStaleTokenFiles();
  // Best effort: removes the empty directories Present created and closes them.
  void RemoveCreatedDirectories();

  std::string webroot_;
  fs::Dir root_, well_known_, challenge_;  // open while a token of ours exists
  bool created_well_known_ = false;
  bool created_challenge_ = false;
  std::vector<WrittenFile> written_;
  std::vector<SolverNote> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_
