"""The MCP server (`repopack mcp`): pack, read_pack, grep_pack, rank, map and explain as tools."""
