/**
 * The process SPI: {@link dev.buildnet.api.exec.ShellProvider} starts a command given as an
 * argv list (never a shell string) and reports how it ended.
 */
package dev.buildnet.api.exec;
