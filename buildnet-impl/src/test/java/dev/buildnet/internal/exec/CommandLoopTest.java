package dev.buildnet.internal.exec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The read buffers that command loops share: reused from one command to the next, never handed to
 * two loops at once, and no more of them kept idle than the stash's bound, whichever threads (the
 * provider's or callers') ran the loops.
 */
class CommandLoopTest {
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
