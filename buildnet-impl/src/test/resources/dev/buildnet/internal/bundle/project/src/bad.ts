import { greet } from "./util";
const x = 1;
let y = greet(;
