// ACME problem documents with subproblems (acme/problem.cc ParseProblem, RFC
// 8555 §6.7, RFC 7807) and the error Status built from an error response
// (ErrorResponseStatus), as the client receives them from a CA.
#include "acme/problem.h"
#include "tests/fuzz/fuzz_util.h"

using namespace certkeeper;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body = fuzz::AsText(data, size);
  nlohmann::json doc = fuzz::ParseJson(data, size);
  if (!doc.is_discarded()) {
    auto problem = acme::ParseProblem(doc, 400);
    if (problem.ok()) {
      CK_FUZZ_CHECK(problem->ShortType().size() <= problem->type.size());
      // A subproblem without a status inherits the document's (RFC 8555 §6.7.1).
      for (const Problem& sub : problem->subproblems) {
        CK_FUZZ_CHECK(sub.status != 0 || problem->status == 0);
      }
    }
  }
  acme::HttpResponse response;
  response.status = size > 0 && data[0] >= '5' ? 503 : 400;
  response.headers.Add("Content-Type", "application/problem+json");
  response.body = std::string(body);
  TimePoint now = FromUnixSeconds(1'800'000'000);
  Status status = acme::ErrorResponseStatus("POST newOrder",
                                            "https://ca.example/new-order", response, now);
  CK_FUZZ_CHECK(!status.ok());
  CK_FUZZ_CHECK(!status.ToString().empty());
  return 0;
}
