/**
 * The {@code buildnet} command line ({@code dev.buildnet.cli}) and the embedding examples
 * ({@code dev.buildnet.examples.embed}). An application, not a library: it exports nothing.
 */
module dev.buildnet.examples {
  requires dev.buildnet.jetty;
  requires com.fasterxml.jackson.databind;
  requires info.picocli;
  requires jdk.management; // the daemon's IdleHeap sets manageable heap flags
  requires org.slf4j;

  // picocli reads the commands' options by reflection.
  opens dev.buildnet.cli to info.picocli;
}
