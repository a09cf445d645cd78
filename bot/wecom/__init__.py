"""The WeCom edge: callbacks in, API client and sender out, org sync, the handlers' gateway."""
