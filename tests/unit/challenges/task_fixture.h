// What the challenge tests share: an account thumbprint, the challenge task of
// a name and token with its key authorization, and the uid a webroot's other
// owner has.
#ifndef CERTKEEPER_TESTS_UNIT_CHALLENGES_TASK_FIXTURE_H_
#define CERTKEEPER_TESTS_UNIT_CHALLENGES_TASK_FIXTURE_H_

#include <sys/types.h>

#include <string>
#include <utility>

#include "challenges/solver.h"

namespace certkeeper::challenges::task_fixture {

inline constexpr uid_t kNobody = 65534;
inline constexpr char kThumbprint[] = "LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0";

// The task of `identifier` with `token`, authorized as token.kThumbprint.
inline ChallengeTask Task(std::string identifier, std::string token) {
  ChallengeTask task;
  task.identifier = std::move(identifier);
  task.token = token;
  task.key_authorization = token + "." + kThumbprint;
  return task;
}

}  // namespace certkeeper::challenges::task_fixture

#endif  // CERTKEEPER_TESTS_UNIT_CHALLENGES_TASK_FIXTURE_H_
