import { greet } from "./util";
console.log(greet("world"));
