// A large inventory for the benchmarks, as real runs leave one: certificates
// with a deployed version, archive/<name>/<n>/ and live/<name> pointing at it;
// and the certkeeper executable of the same build tree.
#ifndef CERTKEEPER_BENCH_BENCH_INVENTORY_H_
#define CERTKEEPER_BENCH_BENCH_INVENTORY_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include "base/clock.h"
#include "base/status.h"
#include "store/records.h"

namespace certkeeper::bench {

// "c00042": names that sort in creation order.
inline std::string BenchName(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "c%05d", i);
  return buf;
}

// Certificate i with its name (and, with www, www.<name>) under bench.test.
inline store::CertificateSpec BenchSpec(int i, const std::string& server, bool www = false) {
  store::CertificateSpec spec;
  spec.name = BenchName(i);
  spec.domains = {spec.name + ".bench.test"};
  if (www) spec.domains.push_back("www." + spec.name + ".bench.test");
  spec.key_type = "ec256";
  spec.challenges = {"http-01"};
  spec.server = server;
  return spec;
}

// Version 1 of spec, deployed, valid from not_before for `lifetime`, certificate i.
inline store::Version BenchVersion(const store::CertificateSpec& spec, int i,
                                   const std::string& state_dir, TimePoint not_before,
                                   Duration lifetime) {
  store::Version v;
  v.certificate = spec.name;
  v.n = 1;
  v.serial = "0" + std::to_string(i + 1);
  v.not_before = not_before;
  v.not_after = not_before + lifetime;
  v.issuer = "CN=bench";
  v.fingerprint_sha256 = "00";
  v.domains = spec.domains;
  v.key_type = "ec256";
  v.directory = state_dir + "/archive/" + spec.name + "/1";
  v.state = store::VersionState::kDeployed;
  return v;
}

// As a real deploy leaves it: live/<name> points at the version's directory,
// so a run finds the inventory and live/ in agreement.
inline Status LinkLive(const std::string& state_dir, const store::Version& v) {
  std::error_code ec;
  std::filesystem::create_directories(v.directory, ec);
  if (!ec) {
    std::filesystem::create_directory_symlink(
        "../archive/" + v.certificate + "/" + std::to_string(v.n),
        state_dir + "/live/" + v.certificate, ec);
  }
  if (ec) return Status(ErrorCode::kIo, "bench: live link for " + v.certificate + ": " + ec.message());
  return Status::Ok();
}

// The PEM files of one version, as an issuance leaves them in archive/<name>/<n>/.
struct BenchFiles {
  std::string key_pem, cert_pem, chain_pem;
};

// Writes files into v's directory (LinkLive creates it): what a run that
// reads every live certificate (the revocation check) finds there.
inline Status WriteVersionFiles(const store::Version& v, const BenchFiles& files) {
  const std::pair<const char*, const std::string*> parts[] = {
      {"privkey.pem", &files.key_pem},
      {"cert.pem", &files.cert_pem},
      {"chain.pem", &files.chain_pem}};
  for (const auto& [file, pem] : parts) {
    std::FILE* f = std::fopen((v.directory + "/" + file).c_str(), "wx");
    bool ok = f && std::fwrite(pem->data(), 1, pem->size(), f) == pem->size();
    if (f && std::fclose(f) != 0) ok = false;
    if (!ok) return Status(ErrorCode::kIo, "bench: cannot write " + v.directory + "/" + file);
  }
  const std::string full = files.cert_pem + files.chain_pem;
  std::FILE* f = std::fopen((v.directory + "/fullchain.pem").c_str(), "wx");
  bool ok = f && std::fwrite(full.data(), 1, full.size(), f) == full.size();
  if (f && std::fclose(f) != 0) ok = false;
  if (!ok) return Status(ErrorCode::kIo, "bench: cannot write " + v.directory + "/fullchain.pem");
  return Status::Ok();
}

// The certkeeper executable of the same build tree (build/bench -> build/cli);
// "" when it is not there.
inline std::string CertkeeperBinary() {
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  auto path = self.parent_path().parent_path() / "cli" / "certkeeper";
  return std::filesystem::exists(path) ? path.string() : "";
}

// A TCP port on 127.0.0.1 that was free a moment ago; 0 when none was found.
inline int FreeLoopbackPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

}  // namespace certkeeper::bench

#endif  // CERTKEEPER_BENCH_BENCH_INVENTORY_H_
