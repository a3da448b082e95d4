// A row of filter chips: toggle buttons (`aria-pressed`) of which one is pressed, in a
// labelled group ("Filter by status").
export function FilterChips<C extends { label: string }>(props: {
  label: string;
  chips: C[];
  pressed: (chip: C) => boolean;
  onChoose: (chip: C) => void;
}) {
  return (
    <div class="chips" role="group" aria-label={props.label}>
      {props.chips.map((c) => (
        <button type="button" class="chip" key={c.label} aria-pressed={props.pressed(c)} onClick={() => props.onChoose(c)}>
          {c.label}
        </button>
      ))}
    </div>
  );
}
