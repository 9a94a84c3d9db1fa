{
  "targets": [
    {
      "target_name": "weft_original_dst",
      "sources": ["original_dst.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
