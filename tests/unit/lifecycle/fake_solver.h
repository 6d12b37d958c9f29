// A challenges::Solver whose answers are scripted per call and per identifier,
// and which logs every call into a list shared by the solvers of one test, so
// that a test can assert the order of calls across challenge types. It
// "serves" what it presented until it is cleaned up, so a fake CA can check
// that a validation was asked for while the key authorization was answerable.
#ifndef CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAKE_SOLVER_H_
#define CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAKE_SOLVER_H_

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "challenges/solver.h"

namespace certkeeper::lifecycle::testing {

class FakeSolver : public challenges::Solver {
 public:
  // Each call appends "<type> <method> <key>,<key>,..." to *calls, where
  // method is "self-check", "present" or "cleanup" and a key is the
  // identifier, "*.example.com" for a wildcard.
  FakeSolver(std::string_view type, std::vector<std::string>* calls)
      : type_(type), calls_(calls) {}

  // `method` fails for every batch that holds `key`.
  void FailFor(const std::string& method, const std::string& key) { fail_[method].insert(key); }
  // Every call also leaves a note "<method> <keys>" for the attempt record.
  bool notes = false;
  // What AwaitServed answers for every task, counted in `awaited`; nullopt:
  // a solver that cannot see the CA's requests (DNS-01, webroot).
  std::optional<challenges::ServedWaitResult> fetched;
  int awaited = 0;

  struct Served {
    std::string key;
    std::string key_authorization;
  };
  // What Present made answerable for token and CleanUp has not removed yet.
  std::optional<Served> Serving(const std::string& token) const {
    auto it = served_.find(token);
    if (it == served_.end()) return std::nullopt;
    return it->second;
  }

  std::string_view type() const override { return type_; }
  Status SelfCheck(const std::vector<challenges::ChallengeTask>& tasks) override {
    return Call("self-check", tasks);
  }
  Status Present(const std::vector<challenges::ChallengeTask>& tasks) override {
    Status s = Call("present", tasks);
    if (s.ok()) {
      for (const auto& t : tasks) served_[t.token] = {KeyOf(t), t.key_authorization};
    }
    return s;
  }
  // A scripted cleanup failure still removes what was served: the error is
  // for the record only, as the Solver contract has it.
  Status CleanUp(const std::vector<challenges::ChallengeTask>& tasks) override {
    for (const auto& t : tasks) served_.erase(t.token);
    return Call("cleanup", tasks);
  }
  std::vector<challenges::SolverNote> TakeNotes() override { return std::exchange(notes_, {}); }
  std::optional<challenges::ServedWaitResult> AwaitServed(
      const challenges::ChallengeTask& /*task*/,
      const challenges::ServedWaitOptions& /*options*/) override {
    ++awaited;
    return fetched;
  }

 private:
  static std::string KeyOf(const challenges::ChallengeTask& t) {
    return (t.wildcard ? "*." : "") + t.identifier;
  }

  Status Call(const std::string& method, const std::vector<challenges::ChallengeTask>& tasks) {
    std::string keys;
    std::string refused;
    for (const auto& t : tasks) {
      keys += (keys.empty() ? "" : ",") + KeyOf(t);
      if (refused.empty() && fail_[method].count(KeyOf(t))) refused = KeyOf(t);
    }
    calls_->push_back(type_ + " " + method + " " + keys);
    if (notes) notes_.push_back({"", method + " " + keys});
    if (refused.empty()) return Status::Ok();
    return Status(ErrorCode::kFailedPrecondition,
                  type_ + " " + method + " cannot serve " + refused + " (scripted)");
  }

  std::string type_;
  std::vector<std::string>* calls_;
  std::map<std::string, std::set<std::string>> fail_;
  std::map<std::string, Served> served_;  // by token
  std::vector<challenges::SolverNote> notes_;
};

}  // namespace certkeeper::lifecycle::testing

#endif  // CERTKEEPER_TESTS_UNIT_LIFECYCLE_FAKE_SOLVER_H_
