"""The article library: articles kept with their sentences, embeddings and name keys, searched per report."""
