package dev.buildnet.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SerialExecutorPoolTest {

  @Test
  void shutdownAndJoin_returnsOnlyOnceEveryThreadOfThePoolHasEnded() throws Exception {
    SerialExecutor.Pool pool = SerialExecutor.pool("pool-test", 4);
    Set<Thread> seen = ConcurrentHashMap.newKeySet();
    CountDownLatch allRunning = new CountDownLatch(4);
    CountDownLatch release = new CountDownLatch(1);
    for (int i = 0; i < 4; i++) {
      pool.execute(() -> {
        seen.add(Thread.currentThread());
        allRunning.countDown();
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      });
    }
    assertTrue(allRunning.await(60, TimeUnit.SECONDS));
    assertEquals(4, seen.size());
    release.countDown();

    assertTrue(pool.shutdownAndJoin(60_000));

    for (Thread t : seen) {
      assertFalse(t.isAlive(), t.getName() + " is still alive after shutdownAndJoin");
    }
    assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> {}));
  }

  @Test
  void shutdownAndJoin_runsWhatWasQueuedBeforeItReturns() throws Exception {
    SerialExecutor.Pool pool = SerialExecutor.pool("pool-test", 1);
    CountDownLatch release = new CountDownLatch(1);
    List<Integer> ran = new java.util.concurrent.CopyOnWriteArrayList<>();
    SerialExecutor serial = new SerialExecutor(pool);
    serial.execute(() -> {
      try {
        release.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      ran.add(1);
    });
    serial.execute(() -> ran.add(2));
    release.countDown();

    assertTrue(pool.shutdownAndJoin(60_000));

    assertEquals(List.of(1, 2), ran);
  }
}
