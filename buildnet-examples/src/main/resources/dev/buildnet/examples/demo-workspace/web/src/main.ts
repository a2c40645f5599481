import { greet } from "./greet";

const el = document.getElementById("app");
if (el) {
  el.textContent = greet("BuildNet");
}
