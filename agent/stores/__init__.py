"""What opsloop remembers: answer records, incident memory and its embeddings."""
