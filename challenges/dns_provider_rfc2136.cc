#include "challenges/dns_provider_rfc2136.h"

#include <sys/stat.h>

#include "base/fs.h"
#include "challenges/dns_lookup.h"

namespace certkeeper::challenges {
namespace {

using dns::Message;
using dns::ResourceRecord;

std::string RcodeHint(uint16_t rcode) {
  switch (rcode) {
    case dns::kRcodeNotAuth:
      return "the server is not authoritative for the zone or did not accept the TSIG key; "
             "check `zone`, tsig_key_name and the secret";
    case dns::kRcodeRefused:
      return "the server's ACL does not allow this update; allow the key (or this "
             "address) to update TXT records in the zone";
    case dns::kRcodeNotZone:
      return "the record name is not inside the zone; check `zone`";
    case dns::kRcodeServFail:
      return "the server failed to apply the update; check its logs";
    default:
      return "check the DNS server's logs";
  }
}

}  // namespace

Result<dns::TsigKey> LoadTsigKey(std::string_view key_name, std::string_view algorithm,
                                 const std::string& secret_file,
                                 std::vector<std::string>* warnings) {
  // One open: the mode checked is the mode of the file whose bytes are used.
  struct stat st {};
  Result<std::string> text =
      secret_file.empty() ? Result<std::string>(Status(ErrorCode::kNotFound, "no file"))
                          : fs::ReadFile(secret_file, &st);
  if (!text.ok() && text.status().code() == ErrorCode::kNotFound) {
    return Status(ErrorCode::kNotFound, "dns-01 rfc2136: TSIG secret file does not exist")
        .Where(secret_file)
        .Hint("set tsig_secret_file to a file holding the base64 secret");
  }
  if (!text.ok()) return text.status();
  if ((st.st_mode & 077) != 0 && warnings != nullptr) {
    warnings->push_back("TSIG secret file " + secret_file +
                        " can be read by group or others; chmod 600 it");
  }
  return dns::MakeTsigKey(key_name, algorithm, *text, secret_file);
}

Result<std::string> Rfc2136DnsProvider::ZoneFor(std::string_view fqdn) {
  if (!options_.zone.empty()) {
    if (!dns::IsSubdomain(fqdn, options_.zone)) {
      return Status(ErrorCode::kInvalidArgument,
                    "dns-01 rfc2136: " + std::string(fqdn) + " is not inside zone " +
                        options_.zone)
          .Hint("fix `zone`, or point _acme-challenge at the zone with a CNAME");
    }
    return options_.zone;
  }
  if (auto it = zones_.find(fqdn); it != zones_.end()) return it->second;
  dns::DnsLookup lookup(client_, options_.timeout);
  Result<std::string> zone = lookup.FindZone(options_.nameserver, fqdn, false);
  if (!zone.ok()) return Status(zone.status()).Annotate("dns-01 rfc2136: finding the zone");
  zones_.emplace(std::string(fqdn), *zone);
  return zone;
}

Status Rfc2136DnsProvider::Update(std::string_view action, std::string_view fqdn,
                                  ResourceRecord rr) {
  CK_ASSIGN_OR_RETURN(std::string zone, ZoneFor(fqdn));
  Message m;
  m.header.id = dns::RandomMessageId();
  m.header.opcode = dns::kOpcodeUpdate;
  m.questions.push_back({zone, dns::kTypeSoa, dns::kClassIn});  // zone section, §2.3
  m.authorities.push_back(std::move(rr));                        // update section, §2.5
  CK_ASSIGN_OR_RETURN(std::string wire, dns::EncodeMessage(m));
  std::string request_mac;
  if (options_.key) {
    uint64_t now = static_cast<uint64_t>(ToUnixSeconds(clock_->Now()));
    CK_ASSIGN_OR_RETURN(dns::SignedMessage signed_msg, dns::SignMessage(wire, *options_.key, now));
    wire = std::move(signed_msg.wire);
    request_mac = std::move(signed_msg.mac);
  }
  std::string op = "dns-01 rfc2136 " + std::string(action) + " " + std::string(fqdn);
  Result<std::string> response = client_->Exchange(options_.nameserver, wire, options_.timeout);
  if (!response.ok()) return Status(response.status()).Annotate(op);
  Result<Message> parsed = dns::DecodeMessage(*response);
  if (!parsed.ok()) return Status(parsed.status()).Annotate(op);
  uint16_t rcode = parsed->header.rcode;
  if (options_.key) {
    uint64_t now = static_cast<uint64_t>(ToUnixSeconds(clock_->Now()));
    Status verified = dns::VerifyMessage(*response, *options_.key, request_mac, now);
    if (!verified.ok()) {
      std::string message = op + ": ";
      if (rcode != dns::kRcodeNoError) message += "server answered " + dns::RcodeName(rcode) + "; ";
      return Status(ErrorCode::kPermissionDenied, message + verified.message())
          .Where(options_.nameserver.ToString())
          .Hint(verified.hint());
    }
  }
  if (rcode != dns::kRcodeNoError) {
    return Status(rcode == dns::kRcodeServFail ? ErrorCode::kUnavailable
                                               : ErrorCode::kPermissionDenied,
                  op + ": server answered " + dns::RcodeName(rcode) + " (zone " + zone + ")")
        .Where(options_.nameserver.ToString())
        .Hint(RcodeHint(rcode));
  }
  notes_.push_back("rfc2136 " + std::string(action) + " TXT " + std::string(fqdn) + " in zone " +
                   zone + " at " + options_.nameserver.ToString() + ": NOERROR" +
                   (options_.key ? " (TSIG verified)" : ""));
  return Status::Ok();
}

Status Rfc2136DnsProvider::Present(std::string_view fqdn, std::string_view value) {
  ResourceRecord rr;
  CK_ASSIGN_OR_RETURN(rr.name, dns::CanonicalName(fqdn));
  rr.type = dns::kTypeTxt;
  rr.klass = dns::kClassIn;
  rr.ttl = options_.ttl;
  rr.rdata = dns::EncodeTxtRdata(value);
  std::string name = rr.name;
  return Update("present", name, std::move(rr));
}

Status Rfc2136DnsProvider::CleanUp(std::string_view fqdn, std::string_view value) {
  ResourceRecord rr;
  CK_ASSIGN_OR_RETURN(rr.name, dns::CanonicalName(fqdn));
  rr.type = dns::kTypeTxt;
  rr.klass = dns::kClassNone;
  rr.ttl = 0;
  rr.rdata = dns::EncodeTxtRdata(value);
  std::string name = rr.name;
  return Update("cleanup", name, std::move(rr));
}

Status Rfc2136DnsProvider::Check() {
  std::string name = options_.zone.empty() ? "." : options_.zone;
  Result<Message> m =
      dns::Query(*client_, options_.nameserver, name, dns::kTypeSoa, false, options_.timeout);
  if (!m.ok()) return Status(m.status()).Annotate("dns-01 rfc2136 check");
  if (options_.zone.empty()) return Status::Ok();
  bool has_soa = false;
  for (const ResourceRecord& rr : m->answers) {
    has_soa = has_soa || (rr.type == dns::kTypeSoa && rr.name == options_.zone);
  }
  if (m->header.rcode != dns::kRcodeNoError || !has_soa) {
    return Status(ErrorCode::kFailedPrecondition,
                  "dns-01 rfc2136 check: the nameserver has no SOA for zone " + options_.zone +
                      " (" + dns::RcodeName(m->header.rcode) + ")")
        .Where(options_.nameserver.ToString())
        .Hint("check `nameserver` and `zone`: the server must be authoritative for the zone");
  }
  return Status::Ok();
}

std::vector<std::string> Rfc2136DnsProvider::TakeNotes() { return std::exchange(notes_, {}); }

}  // namespace certkeeper::challenges
