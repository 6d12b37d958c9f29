// A DNS provider plugin (challenges/certkeeper_dns_plugin.h) whose every answer
// comes from bytes set by dns_plugin_abi_fuzz.cc: the table it returns (ABI
// version, struct size, name, which function pointers are NULL) and what each
// function returns and writes into err. It stands for a buggy or hostile
// plugin; it never writes beyond err_len, which the ABI forbids.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "challenges/certkeeper_dns_plugin.h"

namespace {

std::string g_input;
size_t g_pos = 0;
std::string g_name;
certkeeper_dns_plugin_v1 g_table;
// Taken here: below, the entry point's name hides the struct's.
constexpr uint32_t kTableSize = sizeof(certkeeper_dns_plugin_v1);
int g_handle;

uint8_t Byte() { return g_pos < g_input.size() ? static_cast<uint8_t>(g_input[g_pos++]) : 0; }

uint32_t U32() {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | Byte();
  return v;
}

// Up to 255 bytes of input, NUL bytes included.
std::string Bytes() {
  size_t n = std::min<size_t>(Byte(), g_input.size() - std::min(g_pos, g_input.size()));
  std::string out = g_input.substr(std::min(g_pos, g_input.size()), n);
  g_pos += n;
  return out;
}

// The plugin's message: copied into err, NUL-terminated only when the input
// says so (a plugin that fills the buffer without a NUL breaks the ABI).
void WriteErr(char* err, size_t err_len) {
  uint8_t mode = Byte();
  std::string text = Bytes();
  if (mode & 1) text.append(err_len, 'x');  // fills the whole buffer
  size_t n = std::min(text.size(), err_len);
  std::memcpy(err, text.data(), n);
  if ((mode & 2) && n < err_len) err[n] = '\0';
}

int Result(char* err, size_t err_len) {
  int rc = static_cast<int8_t>(Byte());
  if (rc != 0) WriteErr(err, err_len);
  return rc;
}

void* Create(const certkeeper_dns_plugin_option*, size_t, char* err, size_t err_len) {
  if (Byte() & 1) {
    WriteErr(err, err_len);
    return nullptr;
  }
  return &g_handle;
}

int Present(void*, const char*, const char*, char* err, size_t err_len) {
  return Result(err, err_len);
}
int Cleanup(void*, const char*, const char*, char* err, size_t err_len) {
  return Result(err, err_len);
}
int Check(void*, char* err, size_t err_len) { return Result(err, err_len); }
void Destroy(void*) {}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void certkeeper_fuzz_dns_plugin_set(const uint8_t* data,
                                                                           size_t size) {
  g_input.assign(reinterpret_cast<const char*>(data), size);
  g_pos = 0;
}

__attribute__((visibility("default"))) const certkeeper_dns_plugin_v1* certkeeper_dns_plugin_v1(
    void) {
  uint8_t flags = Byte();
  if (flags & 0x80) return nullptr;
  uint8_t sizes = Byte();
  g_table = {};
  g_table.abi_version = (sizes & 1) ? U32() : CERTKEEPER_DNS_PLUGIN_ABI_VERSION;
  g_table.struct_size = (sizes & 2) ? U32() : kTableSize;
  g_name = Bytes();
  g_table.name = (sizes & 4) ? nullptr : g_name.c_str();
  g_table.create = (flags & 0x01) ? nullptr : &Create;
  g_table.present = (flags & 0x02) ? nullptr : &Present;
  g_table.cleanup = (flags & 0x04) ? nullptr : &Cleanup;
  g_table.check = (flags & 0x08) ? nullptr : &Check;
  g_table.destroy = (flags & 0x10) ? nullptr : &Destroy;
  return &g_table;
}

}  // extern "C"
