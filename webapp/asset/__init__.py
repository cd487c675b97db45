"""Assets: the files a team keeps, their metadata, proxies and attachments."""
