const s = "héllo wörld"; let q = (;
