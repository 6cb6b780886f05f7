"""The OpenAI-compatible API's edge: its wire format, its errors in OpenAI's shape, and CORS."""
