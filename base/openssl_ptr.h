// Owning pointers to OpenSSL objects, one alias per type, so every module
// frees them the same way and none needs its own deleter.
#ifndef CERTKEEPER_BASE_OPENSSL_PTR_H_
#define CERTKEEPER_BASE_OPENSSL_PTR_H_

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace certkeeper {

template <typename T, void (*F)(T*)>
struct OpenSslFree {
  void operator()(T* p) const { F(p); }
};
// std::unique_ptr that frees with F, e.g. OpenSslPtr<X509_REQ, X509_REQ_free>.
template <typename T, void (*F)(T*)>
using OpenSslPtr = std::unique_ptr<T, OpenSslFree<T, F>>;

namespace internal {
inline void FreeX509Stack(STACK_OF(X509)* stack) { sk_X509_pop_free(stack, X509_free); }
inline void FreeGeneralNames(GENERAL_NAMES* p) { GENERAL_NAMES_free(p); }
inline void FreeExtStack(STACK_OF(X509_EXTENSION)* p) {
  sk_X509_EXTENSION_pop_free(p, X509_EXTENSION_free);
}
}  // namespace internal

using BioPtr = OpenSslPtr<BIO, BIO_free_all>;
using X509Ptr = OpenSslPtr<X509, X509_free>;
using PkeyPtr = OpenSslPtr<EVP_PKEY, EVP_PKEY_free>;
using SslCtxPtr = OpenSslPtr<SSL_CTX, SSL_CTX_free>;
using SslPtr = OpenSslPtr<SSL, SSL_free>;
// A certificate stack that owns its certificates (sk_X509_pop_free).
using X509StackPtr = OpenSslPtr<STACK_OF(X509), internal::FreeX509Stack>;
// The subjectAltName of a certificate or request, and a request's extensions.
using GeneralNamesPtr = OpenSslPtr<GENERAL_NAMES, internal::FreeGeneralNames>;
using ExtStackPtr = OpenSslPtr<STACK_OF(X509_EXTENSION), internal::FreeExtStack>;
using ReqPtr = OpenSslPtr<X509_REQ, X509_REQ_free>;

}  // namespace certkeeper

#endif  // CERTKEEPER_BASE_OPENSSL_PTR_H_
