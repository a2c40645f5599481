import { nope } from "./does-not-exist";
console.log(nope);
