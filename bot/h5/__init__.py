"""Mobile pages opened from WeCom (upload, expense detail), behind WeCom OAuth2."""
