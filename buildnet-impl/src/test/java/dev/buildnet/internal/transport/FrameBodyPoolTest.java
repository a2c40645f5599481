package dev.buildnet.internal.transport;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.buildnet.internal.protocol.FrameCodec;
import dev.buildnet.internal.protocol.FrameReader;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Frame bodies assembled into the loop's spare arrays: reused, yet each body exactly as sent. */
class FrameBodyPoolTest {

  private static byte[] frame(byte[] body) {
    return ByteBuffer.allocate(FrameCodec.PREFIX_BYTES + body.length).putInt(body.length).put(body).array();
  }

  private static byte[] random(int n, long seed) {
    byte[] b = new byte[n];
    new Random(seed).nextBytes(b);
    return b;
  }

  @Test
  void aRecycledBodyArray_carriesTheNextLargeFrame_withItsOwnLength() throws Exception {
    NioLoop loop = new NioLoop(1_000_000_000L, () -> {});
    try {
      FrameAssembler assembler = new FrameAssembler(16 << 20, loop);
      byte[] first = random(300_000, 1);
      byte[] second = random(200_000, 2); // smaller: fits the first one's array
      ByteBuffer in = ByteBuffer.wrap(concat(frame(first), frame(second)));

      byte[] got = assembler.next(in);
      assertNotNull(got);
      assertEquals(first.length, assembler.length());
      assertArrayEquals(first, Arrays.copyOf(got, assembler.length()));
      assembler.recycle(got);

      byte[] again = assembler.next(in);
      assertSame(got, again, "the spare array was not reused");
      assertEquals(second.length, assembler.length());
      assertArrayEquals(second, Arrays.copyOf(again, assembler.length()));
      assertNull(assembler.next(in));
    } finally {
      loop.close(1_000);
      loop.selector().close();
    }
  }

  @Test
  void aFrameSplitAcrossReads_intoASpareArray_isTheFrameSent() throws Exception {
    NioLoop loop = new NioLoop(1_000_000_000L, () -> {});
    try {
      loop.releaseBody(new byte[1 << 20]);
      FrameAssembler assembler = new FrameAssembler(16 << 20, loop);
      byte[] body = random(500_000, 3);
      byte[] stream = frame(body);
      byte[] got = null;
      for (int at = 0; at < stream.length; at += 7_001) {
        byte[] done = assembler.next(ByteBuffer.wrap(stream, at, Math.min(7_001, stream.length - at)));
        if (done != null) {
          assertTrue(at + 7_001 >= stream.length, "completed early");
          got = done;
        }
      }
      assertNotNull(got);
      assertEquals(1 << 20, got.length, "the spare array was not used");
      assertArrayEquals(body, Arrays.copyOf(got, assembler.length()));
    } finally {
      loop.close(1_000);
      loop.selector().close();
    }
  }

  @Test
  void smallBodies_andOversizedOnes_neverEnterThePool() throws Exception {
    NioLoop loop = new NioLoop(1_000_000_000L, () -> {});
    try {
      loop.releaseBody(new byte[FrameReader.ALLOCATION_STEP]);
      loop.releaseBody(new byte[(2 << 20) + 1]);
      assertNull(loop.takeBody(1));
    } finally {
      loop.close(1_000);
      loop.selector().close();
    }
  }

  @Test
  void smallFramesThatArrivedWhole_shareTheLoopsArray_oneAtATime() throws Exception {
    NioLoop loop = new NioLoop(1_000_000_000L, () -> {});
    try {
      FrameAssembler assembler = new FrameAssembler(16 << 20, loop);
      byte[] a = random(300, 4);
      byte[] b = random(200, 5);
      byte[] c = random(100, 6);
      ByteBuffer in = ByteBuffer.wrap(concat(concat(frame(a), frame(b)), frame(c)));

      byte[] first = assembler.next(in);
      assertEquals(FrameReader.ALLOCATION_STEP, first.length, "not the loop's array");
      assertArrayEquals(a, Arrays.copyOf(first, assembler.length()));
      byte[] second = assembler.next(in); // the loop's array is still lent: an array of its own
      assertEquals(b.length, second.length);
      assertArrayEquals(b, second);
      assertArrayEquals(a, Arrays.copyOf(first, a.length), "the lent array was overwritten");
      assembler.recycle(second);
      assembler.recycle(first);
      byte[] third = assembler.next(in);
      assertSame(first, third, "the loop's array was not given back");
      assertArrayEquals(c, Arrays.copyOf(third, assembler.length()));
      assertEquals(c.length, assembler.length());
    } finally {
      loop.close(1_000);
      loop.selector().close();
    }
  }

  @Test
  void aSmallFrameSplitAcrossReads_getsAnArrayOfItsOwn() throws Exception {
    NioLoop loop = new NioLoop(1_000_000_000L, () -> {});
    try {
      FrameAssembler assembler = new FrameAssembler(16 << 20, loop);
      byte[] body = random(500, 7);
      byte[] stream = frame(body);
      assertNull(assembler.next(ByteBuffer.wrap(stream, 0, 100)));
      byte[] got = assembler.next(ByteBuffer.wrap(stream, 100, stream.length - 100));
      assertEquals(body.length, got.length);
      assertArrayEquals(body, got);
    } finally {
      loop.close(1_000);
      loop.selector().close();
    }
  }

  private static byte[] concat(byte[] a, byte[] b) {
    byte[] c = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
