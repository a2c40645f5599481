package dev.buildnet.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.junit.jupiter.api.Test;

class HotReloadTest {
  static Handler text(String body) {
    return new Handler.Abstract() {
      @Override
      public boolean handle(Request request, Response response, Callback callback) {
        response.setStatus(200);
        response.write(true, ByteBuffer.wrap(body.getBytes(StandardCharsets.UTF_8)), callback);
        return true;
      }
    };
  }

  static String get(RawHttp raw, String path) throws Exception {
    RawHttp.Reply r = raw.send("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        + "Authorization: Bearer " + Fixture.TOKEN + "\r\n\r\n");
    return r.status() + " " + r.body();
  }

  @Test
  void swappingRoutes_keepsKeepAliveConnectionsAndWebSocketsOpen() throws Exception {
    try (Fixture f = Fixture.withToken(); RawHttp keepAlive = new RawHttp(f.http.port())) {
      EventsTest.Messages events = new EventsTest.Messages();
      WebSocket ws = EventsTest.connect(f, "?replay=false", events);
      f.http.mount("/hello", text("one"));
      assertEquals("200 one", get(keepAlive, "/hello"));

      f.http.mount("/hello", text("two"));
      assertEquals("200 two", get(keepAlive, "/hello")); // same socket, new handler
      f.http.reloadBuiltIns();
      assertTrue(get(keepAlive, "/hello").startsWith("404"));
      assertEquals("200 ok\n", get(keepAlive, "/health"));

      String id = f.submit("lib"); // the WebSocket opened before both swaps still streams
      events.await(n -> EventsTest.is(n, "build_finished", id));
      assertFalse(ws.isOutputClosed() || ws.isInputClosed());
      ws.abort();
    }
  }

  @Test
  void mountedRoutes_passTheSecurityChecks() throws Exception {
    try (Fixture f = Fixture.withToken(); RawHttp raw = new RawHttp(f.http.port())) {
      f.http.mount("/extra/", text("extra"));
      assertEquals("200 extra", get(raw, "/extra/anything"));
      assertEquals(401, raw.send("GET /extra/x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status());
      assertTrue(f.http.unmount("/extra/"));
      assertFalse(f.http.unmount("/extra/"));
      assertTrue(get(raw, "/extra/anything").startsWith("404"));
    }
  }
}
