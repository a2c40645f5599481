export const a = eval("1+1");
export const b = typeof y == "strng";
export const c = { a: 1, a: 2 };
