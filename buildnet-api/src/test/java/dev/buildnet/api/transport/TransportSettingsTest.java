package dev.buildnet.api.transport;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.Optional;
import javax.net.ssl.SSLContext;
import org.junit.jupiter.api.Test;

class TransportSettingsTest {
  static final byte[] SECRET = "a shared secret of enough bytes".getBytes(UTF_8);

  @Test
  void unsetValues_takeTheDocumentedDefaults() {
    TransportSettings s = TransportSettings.ofSecret(SECRET);
    assertArrayEquals(SECRET, s.secret());
    assertEquals(Optional.empty(), s.tls());
    assertEquals(Optional.empty(), s.heartbeatInterval());
    assertEquals(Optional.empty(), s.heartbeatTimeout());
    assertEquals(Duration.ofSeconds(10), s.handshakeTimeout());
    assertEquals(16 << 20, s.maxFrameBytes());
  }

  @Test
  void everySetting_isKept() throws Exception {
    SSLContext context = SSLContext.getDefault();
    TransportSettings s = TransportSettings.builder().secret(SECRET).tls(context)
        .heartbeatInterval(Duration.ofSeconds(2)).heartbeatTimeout(Duration.ofSeconds(7))
        .handshakeTimeout(Duration.ofSeconds(3)).maxFrameBytes(1 << 20).build();
    assertEquals(Optional.of(context), s.tls());
    assertEquals(Optional.of(Duration.ofSeconds(2)), s.heartbeatInterval());
    assertEquals(Optional.of(Duration.ofSeconds(7)), s.heartbeatTimeout());
    assertEquals(Duration.ofSeconds(3), s.handshakeTimeout());
    assertEquals(1 << 20, s.maxFrameBytes());
  }

  @Test
  void theSecret_isCopiedInAndOut_andNeverPrinted() {
    byte[] mine = SECRET.clone();
    TransportSettings s = TransportSettings.ofSecret(mine);
    mine[0] = 'X';
    s.secret()[1] = 'Y';
    assertArrayEquals(SECRET, s.secret());
    assertFalse(s.toString().contains("shared secret"), s.toString());
    assertTrue(s.toString().contains(SECRET.length + " bytes"), s.toString());
  }

  @Test
  void builder_isStrict() {
    assertTrue(assertThrows(IllegalStateException.class, () -> TransportSettings.builder().build())
        .getMessage().contains("secret is required"));
    assertTrue(assertThrows(IllegalArgumentException.class,
        () -> TransportSettings.builder().secret(new byte[15])).getMessage().contains("16 bytes"));
    assertTrue(assertThrows(IllegalStateException.class,
        () -> TransportSettings.builder().secret(SECRET).secret(SECRET))
        .getMessage().contains("secret was already set"));
    assertTrue(assertThrows(IllegalStateException.class,
        () -> TransportSettings.builder().maxFrameBytes(2048).maxFrameBytes(4096))
        .getMessage().contains("maxFrameBytes was already set to 2048"));
    assertThrows(IllegalArgumentException.class, () -> TransportSettings.builder().maxFrameBytes(1023));
    assertThrows(IllegalArgumentException.class,
        () -> TransportSettings.builder().handshakeTimeout(Duration.ZERO));
    assertThrows(NullPointerException.class, () -> TransportSettings.builder().tls(null));
    assertTrue(assertThrows(IllegalStateException.class, () -> TransportSettings.builder()
        .secret(SECRET).heartbeatInterval(Duration.ofSeconds(5))
        .heartbeatTimeout(Duration.ofSeconds(5)).build()).getMessage().contains("must be longer"));
  }
}
