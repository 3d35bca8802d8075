import { createRoot } from "react-dom/client";

createRoot(document.getElementById("root")!).render(<p>Sextant</p>);
