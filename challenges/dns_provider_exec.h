// The exec provider: runs a user's program for each record (RFC 8555 §8.4 values
// travel as argv entries and environment variables, never through a shell).
//
//   PROGRAM [ARGS...] present|cleanup FQDN VALUE
//   environment: CERTKEEPER_DNS_ACTION, CERTKEEPER_DNS_FQDN, CERTKEEPER_DNS_VALUE,
//                CERTKEEPER_DNS_DOMAIN (FQDN without "_acme-challenge." and the
//                trailing dot)
//
// Exit status 0 means done; anything else, a signal or the timeout is an error
// naming the program with the tail of its stderr.
#ifndef CERTKEEPER_CHALLENGES_DNS_PROVIDER_EXEC_H_
#define CERTKEEPER_CHALLENGES_DNS_PROVIDER_EXEC_H_

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "challenges/dns_provider.h"

namespace certkeeper::challenges {

struct ExecProviderOptions {
  std::vector<std::string> command;  // argv prefix; command[0] is the program
  std::chrono::milliseconds timeout{60000};
};

class ExecDnsProvider : public DnsProvider {
 public:
  // Fails with kInvalidArgument for an empty command.
  static Result<std::unique_ptr<ExecDnsProvider>> Create(ExecProviderOptions options);

  std::string name() const override { return "exec"; }
  Status Present(std::string_view fqdn, std::string_view value) override;
  Status CleanUp(std::string_view fqdn, std::string_view value) override;
  // The program exists and is executable (it is not run).
  Status Check() override;
  std::vector<std::string> TakeNotes() override;

 private:
  explicit ExecDnsProvider(ExecProviderOptions options) : options_(std::move(options)) {}
  Status Run(std::string_view action, std::string_view fqdn, std::string_view value);

  ExecProviderOptions options_;
  std::vector<std::string> notes_;
};

}  // namespace certkeeper::challenges

#endif  // CERTKEEPER_CHALLENGES_DNS_PROVIDER_EXEC_H_
