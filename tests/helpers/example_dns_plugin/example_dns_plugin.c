/* An example certkeeper DNS provider plugin (docs/dns-plugins.md).
 *
 * It writes TXT records through the management API of pebble-challtestsrv with a
 * few lines of plain-socket HTTP/1.1:
 *   POST /set-txt   {"host": FQDN, "value": VALUE}
 *   POST /clear-txt {"host": FQDN}
 * The API has no call to remove one value of several, so cleanup clears the host
 * and sets again the values this handle still holds there.
 *
 * Options: url = "http://IPv4:port" (required), timeout_ms (default 5000).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "challenges/certkeeper_dns_plugin.h"

struct Value {
  char* host;
  char* value;
  struct Value* next;
};

struct Plugin {
  struct sockaddr_in addr;
  char host_header[64];
  int timeout_ms;
  struct Value* values;
};

static void SetErr(char* err, size_t err_len, const char* fmt, const char* arg) {
  snprintf(err, err_len, fmt, arg);
}

/* Only the characters of DNS names and base64url values are sent, so the JSON
 * needs no escaping; anything else is refused. */
static int SafeJsonText(const char* s) {
  for (; *s; ++s) {
    if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || (unsigned char)*s > 0x7e) return 0;
  }
  return 1;
}

static int Post(struct Plugin* p, const char* path, const char* body, char* err, size_t err_len) {
  char request[2048];
  int n = snprintf(request, sizeof(request),
                   "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   path, p->host_header, strlen(body), body);
  if (n < 0 || (size_t)n >= sizeof(request)) {
    SetErr(err, err_len, "request too large for %s", path);
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    SetErr(err, err_len, "socket: %s", strerror(errno));
    return -1;
  }
  struct timeval tv = {p->timeout_ms / 1000, (p->timeout_ms % 1000) * 1000};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (connect(fd, (const struct sockaddr*)&p->addr, sizeof(p->addr)) != 0) {
    snprintf(err, err_len, "connect to %s failed: %s", p->host_header, strerror(errno));
    close(fd);
    return -1;
  }
  size_t sent = 0;
  while (sent < (size_t)n) {
    ssize_t w = send(fd, request + sent, (size_t)n - sent, MSG_NOSIGNAL);
    if (w <= 0) {
      snprintf(err, err_len, "send to %s failed: %s", p->host_header, strerror(errno));
      close(fd);
      return -1;
    }
    sent += (size_t)w;
  }
  char response[512];
  size_t got = 0;
  while (got + 1 < sizeof(response)) {
    ssize_t r = recv(fd, response + got, sizeof(response) - 1 - got, 0);
    if (r < 0) {
      snprintf(err, err_len, "no answer from %s: %s", p->host_header, strerror(errno));
      close(fd);
      return -1;
    }
    if (r == 0) break;
    got += (size_t)r;
  }
  close(fd);
  response[got] = '\0';
  if (strncmp(response, "HTTP/1.1 200", 12) != 0 && strncmp(response, "HTTP/1.0 200", 12) != 0) {
    char* eol = strstr(response, "\r\n");
    if (eol != NULL) *eol = '\0';
    snprintf(err, err_len, "%s answered: %.200s", path, got ? response : "nothing");
    return -1;
  }
  return 0;
}

static int SetTxt(struct Plugin* p, const char* fqdn, const char* value, char* err,
                  size_t err_len) {
  char body[600];
  snprintf(body, sizeof(body), "{\"host\":\"%s\",\"value\":\"%s\"}", fqdn, value);
  return Post(p, "/set-txt", body, err, err_len);
}

static void* Create(const struct certkeeper_dns_plugin_option* options, size_t count, char* err,
                    size_t err_len) {
  struct Plugin* p = calloc(1, sizeof(*p));
  if (p == NULL) return NULL;
  p->timeout_ms = 5000;
  const char* url = NULL;
  for (size_t i = 0; i < count; ++i) {
    if (strcmp(options[i].key, "url") == 0) {
      url = options[i].value;
    } else if (strcmp(options[i].key, "timeout_ms") == 0) {
      p->timeout_ms = atoi(options[i].value);
      if (p->timeout_ms <= 0) {
        SetErr(err, err_len, "timeout_ms: '%s' is not a positive number", options[i].value);
        free(p);
        return NULL;
      }
    } else {
      SetErr(err, err_len, "unknown option '%s' (accepted: url, timeout_ms)", options[i].key);
      free(p);
      return NULL;
    }
  }
  char ip[INET_ADDRSTRLEN] = {0};
  unsigned port = 0;
  if (url == NULL || sscanf(url, "http://%15[0-9.]:%u", ip, &port) != 2 || port == 0 ||
      port > 65535 || inet_pton(AF_INET, ip, &p->addr.sin_addr) != 1) {
    SetErr(err, err_len, "url: '%s' is not http://IPv4:port", url ? url : "(missing)");
    free(p);
    return NULL;
  }
  p->addr.sin_family = AF_INET;
  p->addr.sin_port = htons((uint16_t)port);
  snprintf(p->host_header, sizeof(p->host_header), "%s:%u", ip, port);
  return p;
}

static int Present(void* handle, const char* fqdn, const char* value, char* err,
                   size_t err_len) {
  struct Plugin* p = handle;
  if (!SafeJsonText(fqdn) || !SafeJsonText(value) || strlen(fqdn) > 255 || strlen(value) > 255) {
    SetErr(err, err_len, "refusing record data with unexpected characters at %s", "set-txt");
    return -1;
  }
  for (struct Value* v = p->values; v != NULL; v = v->next) {
    if (strcmp(v->host, fqdn) == 0 && strcmp(v->value, value) == 0) return 0;
  }
  if (SetTxt(p, fqdn, value, err, err_len) != 0) return -1;
  struct Value* v = calloc(1, sizeof(*v));
  if (v == NULL) return -1;
  v->host = strdup(fqdn);
  v->value = strdup(value);
  v->next = p->values;
  p->values = v;
  return 0;
}

static int Cleanup(void* handle, const char* fqdn, const char* value, char* err,
                   size_t err_len) {
  struct Plugin* p = handle;
  if (!SafeJsonText(fqdn) || strlen(fqdn) > 255) {
    SetErr(err, err_len, "refusing record name with unexpected characters at %s", "clear-txt");
    return -1;
  }
  char body[300];
  snprintf(body, sizeof(body), "{\"host\":\"%s\"}", fqdn);
  if (Post(p, "/clear-txt", body, err, err_len) != 0) return -1;
  struct Value** link = &p->values;
  while (*link != NULL) {
    struct Value* v = *link;
    if (strcmp(v->host, fqdn) == 0 && strcmp(v->value, value) == 0) {
      *link = v->next;
      free(v->host);
      free(v->value);
      free(v);
      continue;
    }
    if (strcmp(v->host, fqdn) == 0 && SetTxt(p, fqdn, v->value, err, err_len) != 0) return -1;
    link = &v->next;
  }
  return 0;
}

static int Check(void* handle, char* err, size_t err_len) {
  return Post(handle, "/clear-txt", "{\"host\":\"_certkeeper-check.invalid.\"}", err, err_len);
}

static void Destroy(void* handle) {
  struct Plugin* p = handle;
  while (p->values != NULL) {
    struct Value* v = p->values;
    p->values = v->next;
    free(v->host);
    free(v->value);
    free(v);
  }
  free(p);
}

static const struct certkeeper_dns_plugin_v1 kTable = {
    CERTKEEPER_DNS_PLUGIN_ABI_VERSION,
    sizeof(struct certkeeper_dns_plugin_v1),
    "example-challtestsrv",
    Create,
    Present,
    Cleanup,
    Check,
    Destroy,
};

__attribute__((visibility("default"))) const struct certkeeper_dns_plugin_v1*
certkeeper_dns_plugin_v1(void) {
  return &kTable;
}
