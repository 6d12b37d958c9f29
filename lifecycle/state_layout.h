// Where things live under the state directory (ARCHITECTURE.md, "State
// directory"), and the crash-safe writes that put them there:
//
//   STATE/certkeeper.db                 the inventory
//   STATE/accounts/<ca-id>/account.key  0600
//   STATE/archive/<name>/<n>/{privkey,cert,chain,fullchain}.pem   every version
//   STATE/live/<name> -> ../archive/<name>/<n>                   the live version
//   STATE/archive/<name>/deploying      "<n>": a deploy of version n touched the
//                                       targets and has not finished (docs/faults.md)
//   STATE/.settled                      what the last run that changed nothing found
//                                       (settled_record.h)
//   STATE/keys/<name>/next.pem          0600, the staged next key (next_key.h);
//                                       keys/ and keys/<name>/ 0700
//
// live/<name> is a symlink switched with one rename, so a reader sees either the
// old or the new version's complete set of files, never a mix.
#ifndef CERTKEEPER_LIFECYCLE_STATE_LAYOUT_H_
#define CERTKEEPER_LIFECYCLE_STATE_LAYOUT_H_

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "base/dirfd.h"
#include "base/status.h"
#include "lifecycle/settled_record.h"

namespace certkeeper::lifecycle {

struct VersionFiles {
  std::string key_pem;
  std::string cert_pem;   // leaf
  std::string chain_pem;  // intermediates
  std::string fullchain_pem() const { return cert_pem + chain_pem; }
};

class StateLayout {
 public:
  explicit StateLayout(std::string root) : root_(std::move(root)) {}

  // Creates the directory tree (0700 for the root, accounts, archive and keys).
  Status Prepare() const;

  const std::string& root() const { return root_; }
  std::string db_path() const { return root_ + "/certkeeper.db"; }
  // "127.0.0.1_14000-<8 hex of SHA-256(url)>": readable and unique per URL.
  static std::string CaId(std::string_view directory_url);
  std::string AccountKeyPath(std::string_view directory_url) const;
  std::string ArchiveDir(std::string_view name) const;
  std::string VersionDir(std::string_view name, int n) const;
  std::string LiveDir(std::string_view name) const;
  std::string PendingKeyPath(std::string_view name) const;
  // STATE/keys/<name>: the certificate's staged keys (lifecycle/next_key.h).
  std::string KeysDir(std::string_view name) const;
  std::string NextKeyPath(std::string_view name) const;

  // Writes the four files of version n into a fresh temporary directory (each
  // file fsynced, the key 0600 from its creation), fsyncs that directory once and
  // renames it to archive/<name>/<n> (replacing a leftover of a run that died
  // before recording it), then fsyncs archive/<name>. A crash leaves either no
  // archive/<name>/<n> or a complete one: 4 file fsyncs, 2 directory fsyncs and
  // 1 rename per version.
  Status WriteVersion(std::string_view name, int n, const VersionFiles& files) const;
  Result<VersionFiles> ReadVersion(std::string_view name, int n) const;
  // Points live/<name> at archive/<name>/<n> atomically.
  Status SwitchLive(std::string_view name, int n) const;
  // Removes what a run killed in the middle of a write left in the state
  // directory: temporary files and symlinks of the atomic writes
  // ("<name>.tmp-XXXXXXXXXX") in live/, accounts/<ca-id>/, archive/<name>/ and
  // keys/<name>/,
  // and the half-written version directories archive/<name>/.<n>.tmp. MUST be
  // called with the run lock held (no other run may be writing them). Works
  // through directory fds and never follows a symlink. Returns how many
  // entries were removed.
  // With archive false, archive/ is left out (a settled run: nothing under it
  // changed since a complete scan) and the scan's time is not recorded.
  Result<int> RemoveLeftovers(bool archive = true) const;
  // The version live/<name> points at, or 0.
  int LiveVersionNumber(std::string_view name) const;
  // The same, through live/ opened once by OpenLiveDir (a run asks for each
  // of 10,000 certificates; a path walk per certificate costs more).
  int LiveVersionNumber(const fs::Dir& live, std::string_view name) const;
  Result<fs::Dir> OpenLiveDir() const;

  // The deploy intent: written (atomically, fsynced) before a deploy touches
  // any target and removed once the targets hold a consistent version again.
  // DeployIntent returns the version of an unfinished deploy, 0 when none, and
  // an error when the file exists but cannot be read or parsed.
  Status RecordDeployIntent(std::string_view name, int n) const;
  Result<int> DeployIntent(std::string_view name) const;
  // The same, through archive/ opened once by OpenArchiveDir.
  Result<int> DeployIntent(const fs::Dir& archive, std::string_view name) const;
  Result<fs::Dir> OpenArchiveDir() const;
  Status ClearDeployIntent(std::string_view name) const;

  // The settled record (settled_record.h, lifecycle/state_settled.cc).
  // MUST be called before every change under live/ or archive/ (the writes
  // above call it themselves): the first call of a process removes
  // STATE/.settled and, when there was one to remove (or TakeSettled took
  // one), syncs the state directory so that the removal is on disk before
  // the change. Later calls return at once. An error is a failed sync.
  Status BeginChange() const;
  // Whether BeginChange was called on this layout (or a copy of it).
  bool changed() const;
  // Reads and removes STATE/.settled, with the run lock held; nullopt when
  // there is none, or it cannot be read, parsed or removed.
  std::optional<SettledRecord> TakeSettled() const;
  // live/'s stamp, or nullopt when it cannot be taken or cannot be trusted
  // yet: a file created right after it has no later change time (the file
  // system's clock has not moved past live/'s times).
  std::optional<DirStamp> StampLive() const;
  // Writes STATE/.settled (0600, by rename, not synced: without it the next
  // run only checks everything). Failures are ignored.
  void RecordSettledBestEffort(const SettledRecord& record) const;

 private:
  struct ChangeMark {
    std::mutex mu;
    bool changed = false;
    bool synced = false;      // the record's removal is on disk
    bool took_record = false;
  };
  std::string root_;
  std::shared_ptr<ChangeMark> mark_ = std::make_shared<ChangeMark>();
};

}  // namespace certkeeper::lifecycle

#endif  // CERTKEEPER_LIFECYCLE_STATE_LAYOUT_H_
