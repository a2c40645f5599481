package dev.buildnet.tck;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.buildnet.FrameException;
import dev.buildnet.MessageCodec;
import dev.buildnet.api.transport.ErrorCode;
import dev.buildnet.api.transport.Message;
import dev.buildnet.api.transport.MessageType;
import dev.buildnet.api.transport.Transport;
import dev.buildnet.internal.protocol.Payloads;
import dev.buildnet.internal.protocol.Protocol;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link StreamTransport} answers a frame of an unknown message type as docs/PROTOCOL.md
 * ("Versioning") says, over a real loopback socket: after the handshake with ERROR {@code
 * UNKNOWN_TYPE} ({@code fatal: false}, {@code reply_to} the frame's id) and the connection stays
 * open; before it, the same ERROR is fatal and the connection closes.
 */
class StreamTransportUnknownTypeTest {
  private static final long WAIT = 30;
  private static final InetSocketAddress ANY_PORT =
      new InetSocketAddress(InetAddress.getLoopbackAddress(), 0);
  private static final MessageCodec CODEC = MessageCodec.standard();

  private final StreamTransport listening = new StreamTransport(CODEC);

  @AfterEach
  void close() {
    listening.close();
  }

  /** The spec's own unknown-type frame: type 0x99, id "w-1". */
  private static byte[] unknownTypeFrame() throws Exception {
    JsonNode vectors =
        new ObjectMapper().readTree(Path.of("..", "docs", "protocol-vectors.json").toFile());
    for (JsonNode v : vectors.get("errors")) {
      if (v.get("name").asText().equals("unknown_type")) {
        return HexFormat.of().parseHex(v.get("hex").asText());
      }
    }
    throw new AssertionError("docs/protocol-vectors.json has no unknown_type vector");
  }

  private static Payloads.ErrorReply error(Message m) {
    assertEquals(MessageType.ERROR, m.type(), "got " + m);
    return (Payloads.ErrorReply) m.payload();
  }

  /** A listener whose accepted connection is handed out, and its messages and end recorded. */
  private final class Server implements Transport.Connection.Handler {
    final CompletableFuture<Transport.Connection> accepted = new CompletableFuture<>();
    final BlockingQueue<Message> messages = new LinkedBlockingQueue<>();
    final CompletableFuture<Throwable> closed = new CompletableFuture<>();
    final Transport.Listener listener;

    Server() throws Exception {
      listener = listening.listen(ANY_PORT, c -> {
        accepted.complete(c);
        return this;
      });
    }

    @Override
    public void onMessage(Transport.Connection connection, Message message) {
      messages.add(message);
    }

    @Override
    public void onClose(Transport.Connection connection, Throwable cause) {
      closed.complete(cause);
    }
  }

  @Test
  void after_the_handshake_an_unknown_type_gets_a_non_fatal_error_and_messages_flow_on()
      throws Exception {
    Server server = new Server();
    try (Socket raw = new Socket()) {
      raw.connect(server.listener.localAddress());
      Transport.Connection c = server.accepted.get(WAIT, TimeUnit.SECONDS);
      c.authenticated(); // as the session layer does once the peer has proven the secret
      OutputStream out = raw.getOutputStream();
      InputStream in = raw.getInputStream();

      out.write(unknownTypeFrame());
      Payloads.ErrorReply error = error(CODEC.read(in));
      Message next = new Message(Protocol.MAJOR, MessageType.STATE_GET, "w-2",
          System.currentTimeMillis(), Protocol.RUNTIME, new Payloads.StateGet("next"));
      out.write(CODEC.encode(next));
      out.flush();

      assertEquals(ErrorCode.UNKNOWN_TYPE.code(), error.code());
      assertFalse(error.fatal());
      assertEquals("w-1", error.replyTo());
      assertEquals("unknown message type 0x99", error.message());
      Message delivered = server.messages.poll(WAIT, TimeUnit.SECONDS);
      assertNotNull(delivered, "the message after the unknown type was not delivered");
      assertEquals("next", ((Payloads.StateGet) delivered.payload()).key());
      assertTrue(c.isOpen());
      assertFalse(server.closed.isDone(), "the connection ended: " + server.closed);
    }
  }

  @Test
  void before_the_handshake_an_unknown_type_is_fatal() throws Exception {
    Server server = new Server();
    try (Socket raw = new Socket()) {
      raw.connect(server.listener.localAddress());
      InputStream in = raw.getInputStream();

      raw.getOutputStream().write(unknownTypeFrame());

      Payloads.ErrorReply error = error(CODEC.read(in));
      assertEquals(ErrorCode.UNKNOWN_TYPE.code(), error.code());
      assertTrue(error.fatal());
      assertEquals("w-1", error.replyTo());
      assertNull(CODEC.read(in), "the connection closed after the ERROR");
      FrameException cause = assertInstanceOf(FrameException.class,
          server.closed.get(WAIT, TimeUnit.SECONDS));
      assertEquals(ErrorCode.UNKNOWN_TYPE, cause.reason());
      assertTrue(server.messages.isEmpty(), "delivered: " + server.messages);
    }
  }
}
