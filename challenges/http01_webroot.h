// HTTP-01 (RFC 8555 §8.3) answered by a web server that already runs on this
// host: the token files are written below its document root.
#ifndef CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_
#define CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "challenges/solver.h"

namespace certkeeper::challenges {

// Writes <webroot>/.well-known/acme-challenge/<token> with the key authorization
// as its content (file 0644, written atomically; missing directories created
// 0755) for the web server to serve.
//
// Nothing is ever written outside the webroot: the webroot is canonicalized
// (realpath), tokens must be base64url (so no '/' and no ".."), and a
// .well-known or acme-challenge that is a symlink must resolve to a directory
// inside the webroot, or Present refuses to write.
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
    std::string path;
  };
  explicit Http01WebrootSolver(std::string webroot) : webroot_(std::move(webroot)) {}
  Result<std::string> CanonicalWebroot() const;
  // The directory `name` inside parent (both canonical), created when missing.
  Result<std::string> EnsureDirectory(const std::string& root, const std::string& parent,
                                      const std::string& name);
  Status RemoveFiles(const std::vector<std::string>& tokens);
  void RemoveCreatedDirectories();

  std::string webroot_;
  std::vector<WrittenFile> written_;
  std::vector<std::string> created_dirs_;  // in creation order
  std::vector<SolverNote> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_HTTP01_WEBROOT_H_
