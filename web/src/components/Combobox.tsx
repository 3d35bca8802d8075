import { useEffect, useId, useRef, useState, type ReactNode, type RefObject } from "react";

export interface ComboOption {
  key: string;
  label: string;
  sublabel?: string;
  badge?: string;
}

/**
 * An editable combobox (WAI-ARIA 1.2 pattern): type to filter, arrows to move, Enter to pick, Escape to close.
 * The caller owns the text and computes the options (often from the server).
 */
export function Combobox({
  label,
  hideLabel,
  text,
  onText,
  options,
  onPick,
  placeholder,
  loading,
  inputRef,
  emptyText = "No matches",
  className,
  inputClassName,
  onFocus,
  onBlur,
  describedBy,
  invalid,
  inputId,
  prefix,
  suffix,
  keyShortcuts,
  labelledOutside,
}: {
  label: string;
  hideLabel?: boolean;
  text: string;
  onText: (t: string) => void;
  options: ComboOption[];
  onPick: (o: ComboOption) => void;
  placeholder?: string;
  loading?: boolean;
  inputRef?: RefObject<HTMLInputElement | null>;
  emptyText?: string;
  className?: string;
  inputClassName?: string;
  onFocus?: () => void;
  onBlur?: () => void;
  describedBy?: string;
  invalid?: boolean;
  inputId?: string;
  prefix?: ReactNode;
  suffix?: ReactNode;
  keyShortcuts?: string;
  /** The input is labelled by a <label for> outside this component. */
  labelledOutside?: boolean;
}) {
  const auto = useId();
  const id = inputId ?? `${auto}-input`;
  const listId = `${auto}-list`;
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const ownRef = useRef<HTMLInputElement>(null);
  const ref = inputRef ?? ownRef;

  useEffect(() => setActive(0), [options]);

  const pick = (o: ComboOption) => {
    onPick(o);
    setOpen(false);
  };
  const showList = open && (options.length > 0 || (!loading && text.trim() !== ""));

  return (
    <div className={`combo ${className ?? ""}`}>
      {!labelledOutside && (
        <label htmlFor={id} className={hideLabel ? "sr-only" : "field-label"}>
          {label}
        </label>
      )}
      <div className="combo-box">
        {prefix}
        <input
          ref={ref}
          id={id}
          className={inputClassName ?? "input"}
          type="text"
          role="combobox"
          autoComplete="off"
          spellCheck={false}
          aria-autocomplete="list"
          aria-expanded={showList}
          aria-controls={listId}
          aria-activedescendant={showList && options[active] ? `${listId}-${active}` : undefined}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          aria-keyshortcuts={keyShortcuts}
          placeholder={placeholder}
          value={text}
          onChange={(e) => {
            onText(e.target.value);
            setOpen(true);
          }}
          onFocus={() => {
            setOpen(true);
            onFocus?.();
          }}
          onBlur={() => {
            setOpen(false);
            onBlur?.();
          }}
          onKeyDown={(e) => {
            if (e.key === "ArrowDown") {
              e.preventDefault();
              setOpen(true);
              setActive((a) => Math.min(a + 1, options.length - 1));
            } else if (e.key === "ArrowUp") {
              e.preventDefault();
              setActive((a) => Math.max(a - 1, 0));
            } else if (e.key === "Enter") {
              if (showList && options[active]) {
                e.preventDefault();
                pick(options[active]);
              }
            } else if (e.key === "Escape") {
              if (showList) {
                e.preventDefault();
                e.stopPropagation();
                setOpen(false);
              }
            }
          }}
        />
        {suffix}
      </div>
      <ul id={listId} role="listbox" aria-label={`${label}: suggestions`} className="combo-list" hidden={!showList}>
        {options.map((o, i) => (
          <li
            key={o.key}
            id={`${listId}-${i}`}
            role="option"
            aria-selected={i === active}
            className={i === active ? "combo-option active" : "combo-option"}
            onMouseDown={(e) => e.preventDefault()}
            onMouseEnter={() => setActive(i)}
            onClick={() => pick(o)}
          >
            <span className="combo-label">
              {o.label}
              {o.badge && <span className="badge">{o.badge}</span>}
            </span>
            {o.sublabel && <span className="combo-sub">{o.sublabel}</span>}
          </li>
        ))}
        {!options.length && <li className="combo-empty" role="presentation">{loading ? "Searching…" : emptyText}</li>}
      </ul>
    </div>
  );
}

/** The value after the user stops typing for `ms`. */
export function useDebounced<T>(value: T, ms = 150): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}
