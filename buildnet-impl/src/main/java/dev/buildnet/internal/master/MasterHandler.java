package dev.buildnet.internal.master;

import dev.buildnet.worker.Worker;

import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.Payload;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Payloads.ErrorReply;
import dev.buildnet.internal.protocol.Payloads.Heartbeat;
import dev.buildnet.internal.protocol.Payloads.ResourceClaim;
import dev.buildnet.internal.protocol.Payloads.ResourceRelease;
import dev.buildnet.internal.protocol.ProtocolException;
import dev.buildnet.internal.transport.InlineHandler;
import dev.buildnet.internal.transport.Session;
import dev.buildnet.internal.transport.SerialExecutor;
import java.util.concurrent.Executor;
import java.net.SocketTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One accepted connection's requests. It runs on the transport's selector loop (an {@link
 * InlineHandler}): what is quick (heartbeats, attempt results for the dispatcher, resource
 * claims) is handled there with no hand-off; what may block (the state backend, the blob store,
 * the build service) goes to this connection's {@link SerialExecutor}. While that has work queued,
 * everything else of the connection queues behind it: requests of one peer are answered in order,
 * and a slow state backend stalls only the peer that asked. What is queued counts against the
 * connection's inbound backlog ({@link Session#holdInbound}): past the transport's high-water mark
 * the connection is not read until it drains, so a peer cannot make the master hold more than that.
 */
final class MasterHandler implements InlineHandler {
  private static final Logger log = LoggerFactory.getLogger(MasterHandler.class);

  private final Session connection;
  private final StateService state;
  private final WorkerRegistry registry;
  private final WorkerRegistry.Worker worker; // null for a client
  private final BlobService blobs; // null without a blob store
  private final Dispatcher dispatcher;
  private final ClientBuilds builds; // null without a build service
  private final SerialExecutor serial;

  MasterHandler(
      Session connection, StateService state, WorkerRegistry registry,
      WorkerRegistry.Worker worker, BlobService blobs, Dispatcher dispatcher,
      ClientBuilds builds, Executor work) {
    this.connection = connection;
    this.state = state;
    this.registry = registry;
    this.worker = worker;
    this.blobs = blobs;
    this.dispatcher = dispatcher;
    this.builds = builds;
    this.serial = new SerialExecutor(work);
  }

  @Override
  public void onMessage(Transport.Connection c, Message m) {
    Payload p = m.payload();
    if (worker != null) {
      registry.heard(worker, p);
    }
    if (p instanceof Heartbeat) {
      return; // the transport acknowledges it
    }
    // Only this (the connection's loop) submits to serial, so idle() stays true until we do.
    if (!serial.idle() || mayBlock(p)) {
      // Counted until handled, so a peer sending faster than this serves stops being read.
      Runnable handled = connection.holdInbound();
      serial.execute(() -> {
        try {
          handle(m);
        } finally {
          handled.run();
          if (worker != null) {
            // While this side works through the worker's backlog it may not read the worker's
            // HEARTBEATs (the connection can be paused): its silence is ours, not its death.
            registry.heard(worker, null);
          }
        }
      });
    } else {
      handle(m);
    }
  }

  private boolean mayBlock(Payload p) {
    return StateService.serves(p)
        || (blobs != null && BlobService.serves(p))
        || (builds != null && ClientBuilds.serves(p));
  }

  private void handle(Message m) {
    Payload p = m.payload();
    if (worker != null && dispatcher.onWorkerMessage(worker, m)) {
      return;
    }
    try {
      if (StateService.serves(p)) {
        connection.send(state.handle(m));
      } else if (blobs != null && BlobService.serves(p)) {
        blobs.handle(m);
      } else if (builds != null && ClientBuilds.serves(p)) {
        builds.handle(m);
      } else if (p instanceof ResourceClaim claim) {
        connection.send(requireWorker(m).claim(m.id(), claim));
      } else if (p instanceof ResourceRelease release) {
        connection.send(requireWorker(m).release(m.id(), release));
        dispatcher.capacityFreed();
      } else if (p instanceof Payloads.Reply r) {
        // An answer to nothing we asked (or no longer wait for) is dropped, never answered: an
        // ERROR about an ERROR could bounce between two peers forever (docs/PROTOCOL.md,
        // "Unsolicited replies").
        log.debug("{}: ignoring unsolicited {} to {}", connection, m.type(), r.replyTo());
      } else {
        throw new RequestError(ErrorCode.UNSUPPORTED,
            "this master does not serve " + m.type() + " (it serves STATE_*, LOCK_*, RESOURCE_*"
                + " and HEARTBEAT"
                + (blobs != null ? ", BLOB_*" : "; BLOB_* only when given a blob store")
                + (builds != null ? "; BUILD_REQUEST, BUILD_CANCEL, SUBSCRIBE and UNSUBSCRIBE"
                    + " from clients)" : "; builds only when given a build service)"));
      }
    } catch (RequestError e) {
      connection.send(new ErrorReply(m.id(), e.code.code(), e.getMessage(), false));
    } catch (RuntimeException e) {
      log.error("{}: {} {} failed", connection, m.type(), m.id(), e);
      connection.send(new ErrorReply(m.id(), ErrorCode.INTERNAL.code(),
          dev.buildnet.internal.protocol.ErrorText.bounded(
              "the master failed on " + m.type() + ": " + e), false));
    }
  }

  private WorkerRegistry.Worker requireWorker(Message m) {
    if (worker == null) {
      throw new RequestError(ErrorCode.UNSUPPORTED,
          m.type() + " is for workers: resources are accounted per worker, and '"
              + connection.peerId() + "' connected as a client");
    }
    return worker;
  }

  @Override
  public void onClose(Transport.Connection c, Throwable cause) {
    // After the requests still queued (an upload may hold the blob service's lock), so the
    // services are closed, and temporary files gone, before the worker is reported gone.
    if (serial.idle()) {
      closed(cause);
    } else {
      serial.execute(() -> closed(cause));
    }
  }

  private void closed(Throwable cause) {
    if (blobs != null) {
      blobs.close();
    }
    if (builds != null) {
      builds.close();
    }
    if (worker == null) {
      return;
    }
    boolean timedOut = cause instanceof SocketTimeoutException
        || cause instanceof ProtocolException pe && pe.code() == ErrorCode.TIMEOUT;
    String reason = cause == null
        ? "connection closed"
        : timedOut ? "idle timeout: " + cause.getMessage() : "connection ended: " + cause;
    registry.left(worker, reason, timedOut);
  }
}
