package dev.buildnet.internal.exec;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.buildnet.api.exec.OutputListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The read buffers that command loops share: reused from one command to the next, never handed to
 * two loops at once, and no more of them kept idle than the stash's bound, whichever threads (the
 * provider's or callers') ran the loops.
 */
class CommandLoopTest {
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
    Process root;
    try {
      root = PosixSpawn.start(List.of("/bin/echo", "last words"), dir, Map.of(), pipes);
    } finally {
      pipes.started();
    }
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
