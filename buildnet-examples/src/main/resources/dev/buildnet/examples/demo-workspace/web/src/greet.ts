export function greet(name: string): string {
  return `Hello from ${name}, bundled by esbuild.`;
}
