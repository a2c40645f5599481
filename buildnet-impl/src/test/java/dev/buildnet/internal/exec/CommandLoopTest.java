package dev.buildnet.internal.exec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.OutputListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read buffers that command loops share: reused from one command to the next, never handed to
 * two loops at once, and no more of them kept idle than the stash's bound, whichever threads (the
 * provider's or callers') ran the loops.
 */
class CommandLoopTest {
  private static final long WAIT = 30;

  @TempDir Path dir;

  /**
   * The loop sees a root that exited with its last output unread, as it does when the exit and
   * that output come together: the exit is reported once the output has ended, so the command's
   * finish needs no timer on the provider's scheduler to wait for it.
   */
  @Test
  void anExitThatComesWithTheLastOutput_isReportedOnceTheOutputHasEnded() throws Exception {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
    OutputPipes pipes = OutputPipes.open();
    assertNotNull(pipes);
    Process root = SpawnedProcessTest.startInto(pipes, List.of("/bin/echo", "last words"), dir);
    SpawnedProcessTest.awaitZombie(root.pid()); // exited, its pipes closed, nothing read yet
    OutputPump out =
        new OutputPump(null, OutputListener.Stream.STDOUT, OutputListener.discard(), 1024, "out");
    OutputPump err =
        new OutputPump(null, OutputListener.Stream.STDERR, OutputListener.discard(), 1024, "err");
    List<String> reports = new CopyOnWriteArrayList<>();
    CommandLoop.Events events =
        new CommandLoop.Events() {
          @Override
          public void rootExited(long nanoTime, int exitCode) {
            reports.add("exit " + exitCode + ", stdout ended " + out.done().isDone()
                + ", stderr ended " + err.done().isDone());
          }

          @Override
          public long tick(long nanoTime) {
            return -1;
          }

          @Override
          public void awaitExit() {}
        };
    CommandLoop loop =
        CommandLoop.open(pipes, root.pid(), (SpawnedProcess) root, out, err, events, "loop");
    assertNotNull(loop);

    loop.run();

    assertEquals(List.of("exit 0, stdout ended true, stderr ended true"), reports);
    assertEquals("last words\n", new String(out.captured(), UTF_8));
  }

  /**
   * A caller's thread runs the loop; the root exits, but a process it left (which the command's
   * tree could not stop: here the test keeps it alive) still holds stdout. Once the command's
   * result is settled without that output, the caller leaves, as a caller that only waited for
   * the result would have; the rest is read to its end on the thread it was handed to.
   */
  @Test
  void aCallerLeavesOnceTheResultIsSettled_andTheRestIsReadElsewhere() throws Exception {
    assumeTrue(LinuxProcfs.isUsable() && PosixSpawn.isAvailable(), "needs posix_spawn and pidfds");
    OutputPipes pipes = OutputPipes.open();
    assertNotNull(pipes);
    Process root = SpawnedProcessTest.startInto(
        pipes, ScriptCommands.sh("sleep 1000 & echo $!", List.of()), dir);
    OutputPump out =
        new OutputPump(null, OutputListener.Stream.STDOUT, OutputListener.discard(), 1024, "out");
    OutputPump err =
        new OutputPump(null, OutputListener.Stream.STDERR, OutputListener.discard(), 1024, "err");
    AtomicBoolean exited = new AtomicBoolean();
    CompletableFuture<Thread> handedTo = new CompletableFuture<>();
    CommandLoop.Events events =
        new CommandLoop.Events() {
          @Override
          public void rootExited(long nanoTime, int exitCode) {
            exited.set(true);
          }

          @Override
          public long tick(long nanoTime) {
            return exited.get() ? 1_000_000 : -1; // the provider looks again while it ends
          }

          @Override
          public void awaitExit() {}

          @Override
          public boolean settled() {
            return exited.get(); // as if the drain limit had passed at once
          }

          @Override
          public boolean handOff(Runnable rest) {
            Thread t = new Thread(rest, "the pool's");
            t.start();
            handedTo.complete(t);
            return true;
          }
        };
    CommandLoop loop =
        CommandLoop.open(pipes, root.pid(), (SpawnedProcess) root, out, err, events, "loop");
    assertNotNull(loop);
    CompletableFuture<Void> callerDone = CompletableFuture.runAsync(loop::runOnCaller);
    long sleeper = -1;
    try {
      callerDone.get(WAIT, TimeUnit.SECONDS);

      assertTrue(exited.get());
      assertFalse(out.done().isDone(), "stdout is still held open");
      sleeper = Long.parseLong(new String(out.captured(), UTF_8).strip());
      Thread pool = handedTo.get(WAIT, TimeUnit.SECONDS);
      ProcessHandle.of(sleeper).ifPresent(ProcessHandle::destroyForcibly);
      out.done().get(WAIT, TimeUnit.SECONDS); // read to its end there
      err.done().get(WAIT, TimeUnit.SECONDS);
      pool.join(TimeUnit.SECONDS.toMillis(WAIT));
      assertFalse(pool.isAlive());
    } finally {
      if (sleeper < 0 && out.captured().length > 0) {
        sleeper = Long.parseLong(new String(out.captured(), UTF_8).strip());
      }
      if (sleeper > 0) {
        ProcessHandle.of(sleeper).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  @Test
  void buffersGivenBack_areReused_andTheIdleOnesAreBounded() {
    while (CommandLoop.spareBuffers() > 0) {
      CommandLoop.takeBuffers(); // start from an empty stash
    }
    List<CommandLoop.Buffers> sets = new ArrayList<>();
    for (int i = 0; i < CommandLoop.SPARE_BUFFERS + 3; i++) {
      sets.add(new CommandLoop.Buffers());
    }

    sets.forEach(CommandLoop::giveBack);

    assertEquals(CommandLoop.SPARE_BUFFERS, CommandLoop.spareBuffers());
    CommandLoop.Buffers taken = CommandLoop.takeBuffers();
    assertTrue(sets.contains(taken), "a set given back was not reused");
    assertEquals(CommandLoop.SPARE_BUFFERS - 1, CommandLoop.spareBuffers());
    CommandLoop.giveBack(taken);
  }

  @Test
  void aTakenSet_isNotHandedOutTwice() {
    CommandLoop.giveBack(new CommandLoop.Buffers());
    CommandLoop.Buffers first = CommandLoop.takeBuffers();
    CommandLoop.Buffers second = CommandLoop.takeBuffers();

    assertNotSame(first, second);
    CommandLoop.giveBack(second);
    CommandLoop.giveBack(first);
  }
}
