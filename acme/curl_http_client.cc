#include "acme/curl_http_client.h"

#include <curl/curl.h>

#include <utility>

#include "base/curl_easy.h"
#include "base/fs.h"
#include "base/log.h"

namespace certkeeper::acme {

namespace {

// Debian's bundle; used when libcurl does not report its built-in default.
constexpr const char* kFallbackSystemBundle = "/etc/ssl/certs/ca-certificates.crt";

// libcurl's default directory of hashed trust anchors (Debian: /etc/ssl/certs),
// or "" when it has none. OpenSSL looks certificates up there by subject hash
// only when a chain needs them, so trusting that directory costs nothing per
// connection, unlike parsing a bundle of every system root.
const std::string& SystemCaPath() {
  static const std::string path = [] {
    std::string out;
    if (CURL* probe = curl_easy_init()) {
      char* dir = nullptr;
      if (curl_easy_getinfo(probe, CURLINFO_CAPATH, &dir) == CURLE_OK && dir != nullptr &&
          fs::Exists(dir)) {
        out = dir;
      }
      curl_easy_cleanup(probe);
    }
    return out;
  }();
  return path;
}

// CURLOPT_HEADERFUNCTION: the response headers into the HttpResponse at user.
size_t WriteHeader(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  size_t n = size * count;
  std::string_view line(data, n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) {
    line.remove_suffix(1);
  }
  if (line.rfind("HTTP/", 0) == 0) {
    // A new status line (e.g. after 100 Continue): drop earlier headers.
    response->headers = HttpHeaders();
    return n;
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return n;
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  response->headers.Add(std::string(line.substr(0, colon)), std::string(value));
  return n;
}

Status MapCurlError(CURLcode code, const std::string& url, const char* detail) {
  std::string what = std::string(curl_easy_strerror(code));
  if (detail != nullptr && detail[0] != '\0') what += ": " + std::string(detail);
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ISSUER_ERROR:
      return Status(ErrorCode::kTls, "TLS failure talking to the ACME server: " + what)
          .Where(url)
          .Hint("if the server uses a private CA, pass its root with --ca-bundle FILE");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
      return Status(ErrorCode::kUnavailable, "cannot reach the ACME server: " + what)
          .Where(url)
          .Hint("check the server URL and the network; retry later");
    default:
      return Status(ErrorCode::kUnavailable, "HTTP request failed: " + what).Where(url);
  }
}

}  // namespace

struct CurlHttpClient::Handle {
  CURL* curl = nullptr;
  ~Handle() {
    if (curl != nullptr) curl_easy_cleanup(curl);
  }
};

CurlHttpClient::CurlHttpClient(CurlOptions options) : options_(std::move(options)) {}

CurlHttpClient::~CurlHttpClient() = default;

Result<std::unique_ptr<CurlHttpClient>> CurlHttpClient::Create(
    const CurlOptions& options) {
  curl_easy::GlobalInitOnce();
  std::unique_ptr<CurlHttpClient> client(new CurlHttpClient(options));
  if (options.ca_bundle_file.empty()) return client;

  auto extra = fs::ReadFile(options.ca_bundle_file);
  if (!extra.ok()) {
    return Status(ErrorCode::kInvalidArgument, "cannot read the CA bundle")
        .Where(options.ca_bundle_file)
        .Hint("--ca-bundle must name a readable PEM file of trust anchors");
  }
  if (extra->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return Status(ErrorCode::kInvalidArgument, "the CA bundle holds no PEM certificate")
        .Where(options.ca_bundle_file)
        .Hint("--ca-bundle must name a PEM file of CERTIFICATE blocks");
  }
  // The bundle is meant to add to the system roots. With a system CA directory,
  // the bundle is the CA file and the directory stays the CA path (see Send);
  // without one, CURLOPT_CAINFO would replace the system roots, so both are
  // concatenated into one in-memory PEM blob.
  if (!SystemCaPath().empty()) return client;
  std::string system_path = kFallbackSystemBundle;
  if (CURL* probe = curl_easy_init()) {
    char* path = nullptr;
    if (curl_easy_getinfo(probe, CURLINFO_CAINFO, &path) == CURLE_OK && path != nullptr &&
        fs::Exists(path)) {
      system_path = path;
    }
    curl_easy_cleanup(probe);
  }
  auto system_roots = fs::ReadFile(system_path);
  if (system_roots.ok()) {
    client->ca_blob_ = std::move(*system_roots);
    if (!client->ca_blob_.empty() && client->ca_blob_.back() != '\n') {
      client->ca_blob_ += '\n';
    }
  } else {
    log::Warn("system trust store not readable; trusting only the CA bundle",
              {{"path", system_path}});
  }
  client->ca_blob_ += *extra;
  return client;
}

std::unique_ptr<CurlHttpClient::Handle> CurlHttpClient::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Handle> handle = std::move(idle_.back());
      idle_.pop_back();
      return handle;
    }
  }
  auto handle = std::make_unique<Handle>();
  handle->curl = curl_easy_init();
  return handle;
}

void CurlHttpClient::Release(std::unique_ptr<Handle> handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_handles) idle_.push_back(std::move(handle));
}

Result<HttpResponse> CurlHttpClient::Send(const HttpRequest& request) {
  std::unique_ptr<Handle> handle = Acquire();
  CURL* curl = handle->curl;
  if (curl == nullptr) {
    return Status(ErrorCode::kInternal, "curl_easy_init failed").Where(request.url);
  }
  // Keeps the connection cache and TLS session of the handle, clears the rest.
  curl_easy_reset(curl);

  HttpResponse response;
  curl_easy::BoundedBody sink{&response.body, request.max_response_bytes};
  char error_buffer[CURL_ERROR_SIZE] = {0};

  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers.entries()) {
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  }
  // libcurl would otherwise send "Expect: 100-continue" for larger bodies.
  header_list = curl_slist_append(header_list, "Expect:");

  curl_easy::SetCommonOptions(curl, {.url = &request.url,
                                     .connect_timeout = options_.connect_timeout,
                                     .total_timeout = options_.total_timeout,
                                     .headers = header_list,
                                     .body = &sink,
                                     .error_buffer = error_buffer});
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, &WriteHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  if (!ca_blob_.empty()) {
    curl_blob blob{const_cast<char*>(ca_blob_.data()), ca_blob_.size(),
                   CURL_BLOB_NOCOPY};
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &blob);
  } else if (!options_.ca_bundle_file.empty()) {
    curl_easy_setopt(curl, CURLOPT_CAINFO, options_.ca_bundle_file.c_str());
    curl_easy_setopt(curl, CURLOPT_CAPATH, SystemCaPath().c_str());
  }
  if (request.method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (request.method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(request.body.size()));
  } else if (request.method != "GET") {
    curl_slist_free_all(header_list);
    return Status(ErrorCode::kInternal, "unsupported HTTP method " + request.method)
        .Where(request.url);
  }

  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(header_list);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);

  if (code != CURLE_OK) {
    if (sink.too_large) return curl_easy::BodyTooLarge(request.url, request.max_response_bytes);
    return MapCurlError(code, request.url, error_buffer);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  response.status = static_cast<int>(status);
  Release(std::move(handle));
  return response;
}

}  // namespace certkeeper::acme
