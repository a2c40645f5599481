package dev.buildnet.internal.worker;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.Hasher;
import dev.buildnet.client.RemoteBlobs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.Optional;
import java.util.Set;

/**
 * What a worker asks of the master's blob store, over the one {@link BlobStore} SPI: which blobs
 * it lacks, a download to a file, an upload from a file. The master's blob service ({@link
 * RemoteBlobs}) answers with its batched and windowed transfers; any other store (a shared Redis
 * or HTTP cache, a test's) through has/open/put, which verify as the SPI requires.
 */
final class WorkerBlobs {
  private WorkerBlobs() {}

  static Set<Digest> missing(BlobStore store, Collection<Digest> digests) throws IOException {
    if (store instanceof RemoteBlobs remote) {
      return remote.missing(digests); // one BLOB_HAS per 10,000 digests
    }
    Set<Digest> missing = new LinkedHashSet<>();
    for (Digest d : digests) {
      if (!store.has(d)) {
        missing.add(d);
      }
    }
    return missing;
  }

  /** Writes blob {@code digest} to {@code destination} (replacing it); the bytes are verified. */
  static void download(BlobStore store, Digest digest, Path destination) throws IOException {
    if (store instanceof RemoteBlobs remote) {
      remote.download(digest, destination);
      return;
    }
    Optional<InputStream> in = store.open(digest);
    if (in.isEmpty()) {
      throw new IOException("the blob store " + store.name() + " has no blob " + digest);
    }
    try (InputStream s = in.get()) {
      Files.copy(s, destination, StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Stores the file's bytes and returns their digest (of the store's algorithm). */
  static Digest upload(BlobStore store, Path file) throws IOException {
    if (store instanceof RemoteBlobs remote) {
      return remote.upload(file);
    }
    Hasher h = store.hashes().newHasher();
    try (InputStream in = Files.newInputStream(file)) {
      byte[] buf = new byte[64 * 1024];
      for (int n; (n = in.read(buf)) > 0; ) {
        h.update(buf, 0, n);
      }
    }
    Digest d = h.digest();
    try (InputStream in = Files.newInputStream(file)) {
      if (!store.put(d, in)) {
        throw new IOException("the blob store " + store.name() + " declined blob " + d);
      }
    }
    return d;
  }
}
