// originalDst(fd) -> { address, port }: the destination a connection had before an iptables
// REDIRECT rewrote it (getsockopt SO_ORIGINAL_DST, IPv4; IP6T_SO_ORIGINAL_DST for IPv6).
// Plain Node-API (node_api.h) so one build loads on every Node version with that ABI.
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <node_api.h>

#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

static napi_value fail(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_WEFT_ORIGINAL_DST", msg);
  return NULL;
}

static napi_value original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd is required");
    return NULL;
  }
  int32_t fd;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "originalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
  struct sockaddr_storage addr;
  socklen_t len = sizeof addr;
  memset(&addr, 0, sizeof addr);
  if (getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &addr, &len) != 0) {
    int err = errno;
    len = sizeof addr;
    if (getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &addr, &len) != 0)
      return fail(env, "getsockopt(SO_ORIGINAL_DST)", err);
  }
  char text[INET6_ADDRSTRLEN];
  int port;
  if (addr.ss_family == AF_INET) {
    struct sockaddr_in* a = (struct sockaddr_in*)&addr;
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    struct sockaddr_in6* a = (struct sockaddr_in6*)&addr;
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    return fail(env, "SO_ORIGINAL_DST returned an unknown address family", EAFNOSUPPORT);
  }
  napi_value result, address, port_value;
  napi_create_object(env, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
  napi_create_int32(env, port, &port_value);
  napi_set_named_property(env, result, "address", address);
  napi_set_named_property(env, result, "port", port_value);
  return result;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "originalDst", NAPI_AUTO_LENGTH, original_dst, NULL, &fn);
  napi_set_named_property(env, exports, "originalDst", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
