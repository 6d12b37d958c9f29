// What every part of the engine shares: the configuration, the clock, the
// state directory's layout, the inventory and the random source. The engine
// facade (engine_impl.h) owns them and hands each part an EngineContext that
// points at them; the parts never own or replace them.
//
// Also the engine's small shared vocabulary: store <-> lifecycle conversions,
// recording a step or an event, and the one way to log a write whose failure
// does not change an outcome already decided.
#ifndef CERTKEEPER_LIFECYCLE_ENGINE_CONTEXT_H_
#define CERTKEEPER_LIFECYCLE_ENGINE_CONTEXT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "base/clock.h"
#include "base/crypto.h"
#include "base/status.h"
#include "lifecycle/backoff.h"
#include "lifecycle/config.h"
#include "lifecycle/engine.h"
#include "lifecycle/state_layout.h"
#include "store/inventory.h"
#include "store/lease.h"

namespace certkeeper::lifecycle {

class Fleet;

// Non-owning; every pointer outlives the parts that hold the context.
struct EngineContext {
  const Config* config = nullptr;
  Clock* clock = nullptr;
  const StateLayout* layout = nullptr;
  store::Inventory* inventory = nullptr;
  const UniformRandom* random = nullptr;
  // Set when several hosts share the inventory (lifecycle/fleet.h).
  const Fleet* fleet = nullptr;
  // The engine's leases (store/lease.h); in a fleet they exclude the other
  // hosts, e.g. from registering a second account at a CA at the same time.
  store::Leases* leases = nullptr;

  // This host's name (Config::host).
  const std::string& host() const { return config->host; }

  const std::string& server() const { return config->acme.server; }
  // Records a step of attempt_id; a failure is logged (the step is history,
  // the attempt's outcome does not depend on it).
  void AddStep(int64_t attempt_id, store::AttemptStep step) const;
  // Starts an attempt on `certificate` at the configured server now; its id.
  Result<int64_t> StartAttempt(const std::string& certificate, std::string reason) const;
  // Records an audit event; a failure is logged.
  void Event(const std::string& certificate, const std::string& kind,
             const std::string& message) const;
};

// An inventory write whose failure does not change the outcome already
// decided (the deploy's result stands, the record is informational): a
// failure is logged with `what` and the certificate, never dropped silently.
void RecordBestEffort(const Status& s, const std::string& name, const std::string& what);

// kInvalidArgument with a hint unless an ACME server is configured with a
// valid directory URL and request timeout. Checked before anything is
// recorded or asked (acme::Client checks again).
Status CheckServerConfigured(const Config& config);

// The PEM roots issued chains must verify to: the issuer_roots files of every
// configured CA, joined; empty when none names one (the system trust store).
Result<std::string> IssuerRootsPem(const Config& config);

// The configuration as the engine runs it: a config without [[ca]] blocks
// gets its [acme] settings as the one CA, and `acme` is the first CA (the one
// the account commands and a certificate without a list use first).
Config WithNormalizedCas(Config config);

// kNotFound naming `name`, with a hint for people.
Status NotManagedError(const std::string& name);

// The certificate spec of `name` as the inventory holds it, with the deploy
// targets of the config when the config names it (the config is the truth
// for where a certificate goes).
Result<CertificateSpec> DeliverySpec(const Config& config, const store::Certificate& cert);

// store <-> lifecycle conversions.
store::CertificateSpec ToStoreSpec(const CertificateSpec& spec, const Config& config);
Result<CertificateSpec> FromStoreSpec(const store::CertificateSpec& spec);
// The same, taking the stored lists over instead of copying them.
Result<CertificateSpec> FromStoreSpec(store::CertificateSpec&& spec);
// A version record of certificate `name`, number n, from its parsed leaf:
// serial, validity, issuer and fingerprint from `info`; the rest as given.
// State is kIssued and order_url empty; the caller sets what differs.
store::Version VersionFromCertificate(const std::string& name, int n, const CertInfo& info,
                                      std::vector<std::string> domains, std::string key_type,
                                      std::string directory);
VersionView ToView(const store::Version& v);
AttemptView ToView(const store::Attempt& a);

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_ENGINE_CONTEXT_H_
