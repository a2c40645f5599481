package dev.buildnet.internal.transport;

import dev.buildnet.api.transport.Message;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * One session's requests that wait for their replies, by request id: the reply matching that the
 * TCP connection ({@link PeerConnection}) and a session over a host's transport ({@link
 * FramedSession}) share.
 */
final class PendingReplies {
  /** A waiting request: its future, and where the non-last BLOB_CHUNKs of a stream go. */
  static final class Pending {
    private final CompletableFuture<Message> future;
    private final Consumer<Message> partial;

    private Pending(CompletableFuture<Message> future, Consumer<Message> partial) {
      this.future = future;
      this.partial = partial;
    }
  }

  private final Map<String, Pending> pending = new ConcurrentHashMap<>();

  /** Registers request {@code id}, answered through {@code future} (and {@code partial}). */
  Pending register(String id, CompletableFuture<Message> future, Consumer<Message> partial) {
    Pending p = new Pending(future, partial);
    pending.put(id, p);
    return p;
  }

  /**
   * Fails request {@code id} with what {@code failure} makes, if {@code p} still waits for it (no
   * reply, timeout or close got there first); the failure is made only then.
   */
  boolean fail(String id, Pending p, Supplier<? extends Throwable> failure) {
    if (pending.remove(id, p)) {
      p.future.completeExceptionally(failure.get());
      return true;
    }
    return false;
  }

  /**
   * Hands {@code m}, a reply to {@code replyTo}, to the request waiting for it: a stream's
   * non-last chunk to its {@code partial}, anything else completes it (an ERROR exceptionally).
   *
   * @return false if no request waits for it (it was answered, timed out or was never made)
   */
  boolean offer(String replyTo, Message m) {
    Pending waiting = pending.get(replyTo);
    if (waiting == null) {
      return false;
    }
    if (m.payload() instanceof Payloads.BlobChunk c && !c.last() && waiting.partial != null) {
      waiting.partial.accept(m);
      return true;
    }
    pending.remove(replyTo, waiting);
    if (m.payload() instanceof ErrorReply e) {
      waiting.future.completeExceptionally(new RemoteErrorException(e));
    } else {
      waiting.future.complete(m);
    }
    return true;
  }

  /** Fails every waiting request with {@code e} (the session closed). */
  void failAll(Throwable e) {
    pending.values().forEach(p -> p.future.completeExceptionally(e));
    pending.clear();
  }
}
