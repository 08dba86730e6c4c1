"""fiduciary: an MCP server through which LLM agents move money safely."""

__version__ = "0.1.0"
