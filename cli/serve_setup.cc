#include "cli/serve_setup.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>

#include "base/fs.h"

namespace certkeeper::cli {

namespace {

constexpr Duration kMinEvery = std::chrono::seconds(10);

Result<std::optional<Duration>> Every(const std::string& option, const std::string& flag,
                                      std::optional<Duration> configured) {
  std::optional<Duration> every = configured;
  if (!option.empty()) {
    Result<Duration> d = ParseDuration(option);
    if (!d.ok()) {
      return Status(ErrorCode::kInvalidArgument, "serve: " + flag + ": " + d.status().message())
          .Hint(flag + " 12h, " + flag + " 5m");
    }
    every = *d;
  }
  if (every && *every < kMinEvery) {
    return Status(ErrorCode::kInvalidArgument, "serve: " + flag + " must be at least 10s")
        .Hint(flag + " 12h, " + flag + " 5m");
  }
  return every;
}

}  // namespace

bool IsLoopback(const challenges::ListenAddress& address) {
  if (address.ipv6) return address.host == "::1";
  return address.host.rfind("127.", 0) == 0;
}

Result<std::string> ReadBearerToken(const std::string& path) {
  struct stat st;
  CK_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path, &st));
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status(ErrorCode::kPermissionDenied,
                  std::string("serve: the token file is accessible by group or others (mode ") +
                      mode + ")")
        .Where(path)
        .Hint("restrict it with `chmod 600 " + path + "` and replace the token: others may "
              "have read it");
  }
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  const bool visible = std::all_of(text.begin(), text.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7f;
  });
  if (text.size() < 16 || text.size() > 4096 || !visible) {
    return Status(ErrorCode::kInvalidArgument,
                  "serve: the token file must hold one token of 16 to 4096 visible ASCII "
                  "characters")
        .Where(path)
        .Hint("create one with `openssl rand -hex 32 > " + path + "; chmod 600 " + path + "`");
  }
  return text;
}

Result<ServeSetup> ResolveServeSetup(const lifecycle::ServeSettings& settings,
                                     const CommandValues& values) {
  ServeSetup setup;
  const std::string listen = values.listen.empty() ? settings.listen : values.listen;
  Result<challenges::ListenAddress> address = challenges::ParseListenAddress(listen);
  if (!address.ok()) {
    return Status(ErrorCode::kInvalidArgument, "serve: --listen: " + address.status().message())
        .Hint("--listen 127.0.0.1:9150");
  }
  setup.listen = *address;
  setup.loopback = IsLoopback(setup.listen);
  if (!setup.loopback && settings.token_file.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "serve: listening on " + setup.listen.ToString() +
                      ", which is not loopback, requires [serve] token_file")
        .Hint("set token_file = \"/etc/certkeeper/serve.token\" under [serve] (a file of mode "
              "0600 holding a random token), or listen on 127.0.0.1");
  }
  if (!settings.token_file.empty()) {
    CK_ASSIGN_OR_RETURN(setup.token, ReadBearerToken(settings.token_file));
  }
  CK_ASSIGN_OR_RETURN(setup.renew_every,
                      Every(values.renew_every, "--renew-every", settings.renew_every));
  CK_ASSIGN_OR_RETURN(setup.probe_every,
                      Every(values.probe_every, "--probe-every", settings.probe_every));
  return setup;
}

}  // namespace certkeeper::cli
