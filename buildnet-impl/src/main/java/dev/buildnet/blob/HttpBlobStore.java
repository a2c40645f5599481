package dev.buildnet.blob;

import dev.buildnet.api.blob.BlobStore;
import dev.buildnet.api.blob.BlobException;
import dev.buildnet.api.hash.Digest;
import dev.buildnet.api.hash.HashProvider;
import dev.buildnet.api.hash.Hasher;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The CAS of a Bazel-style HTTP remote cache ({@code GET}, {@code HEAD} and {@code PUT} of
 * {@code <base>/cas/<sha256 hex>}), such as the one {@code buildnet-jetty} serves, bazel-remote or
 * an nginx WebDAV cache. SHA-256 only, as Bazel's protocol is.
 *
 * <p>Nothing it reads is trusted: {@link #open} verifies as it streams (the cache cannot be told to
 * drop a corrupt blob; the stream throws a {@code CORRUPT} {@link BlobException}). {@link
 * #put(Digest, InputStream)} streams the body with chunked encoding and holds its last chunk back
 * until the bytes verified, so bytes that do not match are never sent whole: the request fails and even a
 * server that does not check digests stores nothing.
 *
 * <p>Thread-safe (one {@link HttpClient}, its connection pool shared by all calls); every method
 * blocks for one HTTP exchange, bounded by the request timeout (reading a body of an {@link #open}
 * stream is bounded by the socket, not by that timeout). {@link #close} makes later calls fail;
 * the JDK 17 client has no close of its own, its idle connections time out.
 *
 * @since 0.1
 */
public final class HttpBlobStore implements BlobStore {
  private final URI base;
  private final String authorization;
  private final Duration timeout;
  private final HttpClient client;
  private final HashProvider hashes = HashProvider.sha256();
  private final AtomicBoolean closed = new AtomicBoolean();

  private HttpBlobStore(URI base, String authorization, Duration timeout) {
    this.base = base;
    this.authorization = authorization;
    this.timeout = timeout;
    this.client = HttpClient.newBuilder().connectTimeout(timeout)
        .followRedirects(HttpClient.Redirect.NEVER)
        // HTTP/1.1: a streamed PUT goes out chunked, with no h2c upgrade dance.
        .version(HttpClient.Version.HTTP_1_1).build();
  }

  /**
   * The cache whose CAS is under {@code base} (e.g. {@code http://127.0.0.1:8080/}: blobs at
   * {@code http://127.0.0.1:8080/cas/<hex>}), sending {@code Authorization: Bearer <token>} unless
   * {@code bearerToken} is null, each request bounded by {@code timeout}.
   */
  public static HttpBlobStore connect(URI base, String bearerToken, Duration timeout) {
    Objects.requireNonNull(base, "base");
    Objects.requireNonNull(timeout, "timeout");
    String scheme = base.getScheme();
    if (!"http".equals(scheme) && !"https".equals(scheme)) {
      throw new IllegalArgumentException("an HTTP cache needs an http or https URI, not " + base);
    }
    if (timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive but was " + timeout);
    }
    if (bearerToken != null && (bearerToken.isBlank() || bearerToken.chars().anyMatch(c -> c < 0x21
        || c > 0x7e))) {
      throw new IllegalArgumentException("the bearer token must be printable ASCII without spaces");
    }
    String path = base.getPath() == null || base.getPath().isEmpty() ? "/" : base.getPath();
    URI normal = base.resolve(path.endsWith("/") ? path : path + "/");
    return new HttpBlobStore(normal, bearerToken == null ? null : "Bearer " + bearerToken,
        timeout);
  }

  @Override
  public String name() {
    return "HTTP cache " + base;
  }

  @Override
  public HashProvider hashes() {
    return hashes;
  }

  @Override
  public boolean has(Digest digest) throws IOException {
    return size(digest).isPresent();
  }

  /** One {@code HEAD}; the size is the {@code Content-Length} the cache answers. */
  @Override
  public OptionalLong size(Digest digest) throws IOException {
    HttpResponse<Void> r = send(request(digest).method("HEAD", HttpRequest.BodyPublishers.noBody()),
        HttpResponse.BodyHandlers.discarding(), "HEAD of " + digest);
    if (r.statusCode() == 404) {
      return OptionalLong.empty();
    }
    expectOk(r, null, "HEAD of " + digest);
    OptionalLong length = r.headers().firstValueAsLong("Content-Length");
    if (length.isEmpty()) {
      throw new IOException(name() + " answered the HEAD of " + digest
          + " without a Content-Length");
    }
    return length;
  }

  @Override
  public Optional<InputStream> open(Digest digest) throws IOException {
    HttpResponse<InputStream> r = send(request(digest).GET(),
        HttpResponse.BodyHandlers.ofInputStream(), "GET of " + digest);
    if (r.statusCode() == 404) {
      r.body().close();
      return Optional.empty();
    }
    expectOk(r, r.body(), "GET of " + digest);
    return Optional.of(BlobStore.verifying(r.body(), digest, hashes, null));
  }

  /**
   * One {@code PUT}, streamed; see the class comment for how wrong bytes are kept out. A blob the
   * cache refuses as too large (HTTP 413) is declined: false.
   */
  @Override
  public boolean put(Digest expected, InputStream in) throws IOException {
    checkOpen();
    check(expected);
    AtomicReference<BlobException> mismatch = new AtomicReference<>();
    Hasher seen = hashes.newHasher();
    long[] count = {0};
    // Hashes what passes, so that a mismatch can name the actual digest.
    InputStream counted = new FilterInputStream(in) {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n > 0) {
          seen.update(b, off, n);
          count[0] += n;
        }
        return n;
      }

      @Override
      public void close() {
        // the caller closes its stream
      }
    };
    InputStream verified = BlobStore.verifying(counted, expected, hashes, null);
    InputStream body = new InputStream() {
      @Override
      public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
      }

      @Override
      public int read(byte[] b, int off, int len) throws IOException {
        try {
          return verified.read(b, off, len);
        } catch (BlobException e) {
          if (e.reason() != BlobException.Reason.CORRUPT) {
            throw e;
          }
          // The JDK's body publisher fails the request on an IOException (its contract), so
          // the server sees a body cut short and stores nothing.
          mismatch.set(e);
          throw new IOException(e.getMessage(), e);
        }
      }
    };
    HttpResponse<InputStream> r;
    try {
      r = send(request(expected).header("Content-Type", "application/octet-stream")
          .PUT(HttpRequest.BodyPublishers.ofInputStream(() -> body)),
          HttpResponse.BodyHandlers.ofInputStream(), "PUT of " + expected);
    } catch (IOException e) {
      if (mismatch.get() != null) {
        throw BlobException.digestMismatch(expected, seen.digest(), count[0]);
      }
      throw e;
    }
    if (mismatch.get() != null) {
      r.body().close();
      throw BlobException.digestMismatch(expected, seen.digest(), count[0]);
    }
    if (r.statusCode() == 413) {
      r.body().close();
      return false; // larger than the cache takes: declined, as the SPI says, not a failure
    }
    expectOk(r, r.body(), "PUT of " + expected);
    r.body().close();
    return true;
  }

  /** Makes later calls fail with {@link IllegalStateException}; idempotent. */
  @Override
  public void close() {
    closed.set(true);
  }

  private HttpRequest.Builder request(Digest digest) {
    checkOpen();
    check(digest);
    HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve("cas/" + digest.hex()))
        .timeout(timeout);
    if (authorization != null) {
      b.header("Authorization", authorization);
    }
    return b;
  }

  private <T> HttpResponse<T> send(HttpRequest.Builder request, HttpResponse.BodyHandler<T> body,
      String what) throws IOException {
    try {
      return client.send(request.build(), body);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted during the " + what + " at " + name());
    } catch (IOException e) {
      throw new IOException("the " + what + " at " + name() + " failed: " + e.getMessage(), e);
    }
  }

  /** Throws unless {@code r} is a 2xx; the message carries the start of the error body. */
  private void expectOk(HttpResponse<?> r, InputStream body, String what) throws IOException {
    if (r.statusCode() / 100 == 2) {
      return;
    }
    String detail = "";
    if (body != null) {
      try (InputStream in = body) {
        detail = ": " + new String(in.readNBytes(200), StandardCharsets.UTF_8).strip();
      }
    }
    throw new IOException(name() + " answered the " + what + " with HTTP " + r.statusCode()
        + detail);
  }

  private void check(Digest digest) {
    Objects.requireNonNull(digest, "digest");
    if (!digest.algorithm().equals(hashes.algorithm())) {
      throw new IllegalArgumentException(name() + " holds sha256 blobs, not " + digest);
    }
  }

  private void checkOpen() {
    if (closed.get()) {
      throw new IllegalStateException(name() + " is closed");
    }
  }
}
